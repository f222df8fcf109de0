import type { JSONWebKeySet } from 'jose';

/** A user who can sign in on the dev provider's login page. */
export interface DevUser {
  /** Subject claim; stable so cache rows and sessions survive restarts. */
  sub: string;
  /** Object id: the `uid` half of MSAL's home account id. */
  oid: string;
  /** Tenant id: the `utid` half of MSAL's home account id. */
  tid: string;
  name: string;
  /** Sign-in name, also `preferred_username`. */
  username: string;
  email?: string;
  password: string;
  /** A guest: the account's home tenant and object id there (client_info); `oid`/`tid` are the guest's in this tenant. */
  home?: { oid: string; tid: string };
}

/** A workload identity another issuer vouches for (federated credential, as Entra's managed identity). */
export interface DevFederatedIssuer {
  issuer: string;
  subject: string;
  /** Default `api://AzureADTokenExchange`, as Entra. */
  audience?: string;
  /** Where the issuer's keys are: a JWKS URL, or the keys themselves. */
  jwksUri?: string;
  jwks?: JSONWebKeySet;
}

/** An app registration. */
export interface DevClient {
  clientId: string;
  /** One secret, or several accepted at once (rotation). */
  clientSecret?: string | string[];
  redirectUris: string[];
  postLogoutRedirectUris?: string[];
  /** Certificate(s) whose public key verifies `private_key_jwt` assertions. */
  certificatePem?: string | string[];
  federatedIssuer?: DevFederatedIssuer;
  /** Display name put in app tokens' `app_displayname`. */
  displayName?: string;
  /** OpenID Connect Back-Channel Logout: where logout tokens are posted. */
  backchannelLogoutUri?: string;
  /** OpenID Connect Front-Channel Logout: loaded in an iframe on the provider's sign-out page. */
  frontchannelLogoutUri?: string;
}

/** A protected web API the provider issues access tokens for. */
export interface DevApi {
  /** e.g. `api://demo-api`; access tokens carry it as `aud`. */
  audience: string;
  /** Full scope strings, e.g. `api://demo-api/Data.Read`. */
  scopes: string[];
  /** Roles put in app tokens (client credentials); default the scopes' short names. */
  appRoles?: string[];
  /**
   * The `aud` of its access tokens when it is not `audience`: Azure AD B2C (and Entra's v2.0
   * tokens) name the API's application (client) id, while its scopes keep the App ID URI.
   */
  tokenAudience?: string;
  /**
   * The app registration that exposes this API ("Expose an API"): tokens for it may be
   * exchanged on-behalf-of by that client, as tokens whose audience is its client id.
   */
  clientId?: string;
  /**
   * A Conditional Access authentication context (`c1`) tokens for this API need: an
   * on-behalf-of exchange whose assertion lacks it in `acrs` answers `interaction_required`
   * with the claims to ask for, as Entra does.
   */
  requiredAuthContext?: string;
}

export interface DevIdentityProviderOptions {
  tls: { certPem: string; keyPem: string };
  /** 0 or absent: a free port. */
  port?: number;
  /**
   * The port clients reach the provider on when something sits in front of it (a test's fault
   * proxy): its issuer and every endpoint it advertises then name this port. Default `port`.
   */
  publicPort?: number;
  clients: DevClient[];
  users?: DevUser[];
  apis?: DevApi[];
  accessTokenLifetimeSeconds?: number;
  idTokenLifetimeSeconds?: number;
  /** When on, a refresh for scopes the user never granted answers `consent_required`. */
  consentRequired?: boolean;
  /** Serve and advertise an RFC 7009 revocation endpoint (default on; Entra has none). */
  revocation?: boolean;
  /** When on, a refresh token works once: redeeming it again answers `invalid_grant` (rotation, as some providers do). */
  singleUseRefreshTokens?: boolean;
}

/** How the next ID token is made wrong, to exercise the app's validation. */
export interface IdTokenOverride {
  issuer?: string;
  audience?: string;
  expired?: true;
  /** A different nonce, or null to omit the claim. */
  nonce?: string | null;
  alg?: 'none';
  /** Signed by a key absent from /jwks (with the current key's kid). */
  signWithForeignKey?: true;
  /** A provider session id (`sid`) of another shape or size than the provider's own. */
  sid?: unknown;
}

export interface DevIdpControls {
  /** Lifetime of the access tokens issued from now on (the bench makes every call refresh with one under MSAL's 5-minute margin). */
  accessTokenLifetime(seconds: number): void;
  /** The next ID token issued (any grant) is malformed as described; later ones are normal. */
  nextIdToken(override: IdTokenOverride): void;
  /** The next `times` token requests answer `status` (a 5xx) before doing anything. */
  failTokenEndpoint(status: number, times: number): void;
  /** Existing refresh tokens (of one subject, or all) stop working: `invalid_grant` AADSTS700082. */
  revokeRefreshTokens(sub?: string): void;
  /** New tokens are signed with a new key; the previous key stays published unless `dropPrevious`. */
  rotateSigningKey(options?: { dropPrevious?: boolean }): Promise<void>;
  /** While on, token requests are accepted and never answered (a hung token endpoint). */
  holdTokenRequests(on: boolean): void;
  /** Replaces the secret(s) the client may authenticate with. */
  clientSecret(clientId: string, newSecret: string | string[]): void;
  /** Signs any claims with the current key (a logout token, well-formed or not); `typ: null` omits the header's typ. */
  signLogoutToken(claims: Record<string, unknown>, header?: { typ?: string | null; kid?: string }): Promise<string>;
  /** A well-formed logout token's claims for a client. */
  logoutTokenClaims(clientId: string, target: { sub?: string; sid?: string }): Record<string, unknown>;
  /** Ends the user's provider sessions and posts a logout token (sub only) to every client's back-channel URI. */
  signOutEverywhere(sub: string): Promise<{ clientId: string; status: number }[]>;
  /** Posts a logout token for a provider session (sid) or user (sub) to every client's back-channel URI. */
  sendBackchannelLogout(target: { sub?: string; sid?: string }): Promise<{ clientId: string; status: number }[]>;
}

export type DevIdpEndpoint = 'discovery' | 'authorize' | 'login' | 'consent' | 'token' | 'jwks' | 'userinfo' | 'logout' | 'revoke' | 'other';
export type DevIdpGrant = 'authorization_code' | 'refresh_token' | 'client_credentials' | 'on_behalf_of' | 'other';

/** Live counters: tests read them to prove what did (or did not) reach the provider. */
export interface DevIdpStats {
  requests: Record<DevIdpEndpoint, number>;
  grants: Record<DevIdpGrant, number>;
  /** Authorization codes and tokens issued. */
  issued: { codes: number; idTokens: number; accessTokens: number; refreshTokens: number };
  reset(): void;
}

export interface DevIdentityProvider {
  /** `https://127.0.0.1:PORT`, no path, no trailing slash. */
  issuer: string;
  port: number;
  /** `http://localhost:PORT2`: where the browser-facing pages (authorize, login, consent, logout) are. */
  browserOrigin: string;
  close(): Promise<void>;
  controls: DevIdpControls;
  stats: DevIdpStats;
}
