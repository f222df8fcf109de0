import { SigningKeys } from './keys';
import type { Dialect } from './dialect';
import { logoutTokenClaims, sendBackchannelLogout, signLogoutToken, signOutEverywhere } from './logoutNotify';
import { ExpiringMap } from './store';
import type { TokenSettings } from './tokens';
import { DEFAULT_USERS } from './users';
import type {
  DevApi,
  DevClient,
  DevIdentityProviderOptions,
  DevIdpControls,
  DevIdpStats,
  DevUser,
  IdTokenOverride,
} from './types';

export type ResponseMode = 'query' | 'form_post';

/** An /authorize request waiting for the user on the login page. */
export interface Transaction {
  id: string;
  clientId: string;
  redirectUri: string;
  responseMode: ResponseMode;
  state?: string;
  nonce: string;
  codeChallenge: string;
  scopes: string[];
  loginHint?: string;
  /** The authority path it came in (tenant, B2C policy). */
  dialect?: Dialect;
  /** Authentication contexts the `claims` parameter asks for (a step-up at the login page). */
  acrs?: string[];
  prompt?: string;
  /** Set once the user is known and only consent is left: who, and the provider session (new or reused). */
  consent?: { sub: string; sessionId: string; session: Session; setCookie?: string };
}

export interface AuthorizationCode {
  clientId: string;
  redirectUri: string;
  codeChallenge: string;
  nonce: string;
  scopes: string[];
  sub: string;
  sid: string;
  authTime: number;
  expiresAt: number;
  used: boolean;
  /** Authentication contexts satisfied at this sign-in. */
  acrs?: string[];
}

export interface RefreshGrant {
  clientId: string;
  sub: string;
  sid: string;
  authTime: number;
  /** What the sign-in asked for: a refresh without `scope` gets these again. */
  scopes: string[];
  revoked: boolean;
  /** Authentication contexts satisfied at the sign-in: refreshes keep them. */
  acrs?: string[];
}

/** The provider's own sign-in session, behind its cookie. */
export interface Session {
  sub: string;
  /** Public id put in ID tokens as `sid`; the cookie value itself stays secret. */
  sid: string;
  authTime: number;
}

const MINUTE = 60_000;
export const CODE_LIFETIME_MS = MINUTE;
export const SESSION_COOKIE = 'devidp_session';

function newStats(): DevIdpStats {
  const stats: DevIdpStats = {
    requests: { discovery: 0, authorize: 0, login: 0, consent: 0, token: 0, jwks: 0, userinfo: 0, logout: 0, revoke: 0, other: 0 },
    grants: { authorization_code: 0, refresh_token: 0, client_credentials: 0, on_behalf_of: 0, other: 0 },
    issued: { codes: 0, idTokens: 0, accessTokens: 0, refreshTokens: 0 },
    reset() {
      for (const group of [stats.requests, stats.grants, stats.issued] as Record<string, number>[]) {
        for (const key of Object.keys(group)) group[key] = 0;
      }
    },
  };
  return stats;
}

/** Everything the endpoints share: configuration, keys, the short-lived stores, test controls and counters. */
export class ProviderState {
  readonly clients: Map<string, DevClient>;
  readonly users: readonly DevUser[];
  readonly apis: readonly DevApi[];
  readonly consentRequired: boolean;
  /** Whether /revoke (RFC 7009) is served and advertised. */
  readonly revocation: boolean;
  readonly singleUseRefreshTokens: boolean;
  tokenRequestsHeld = false;
  readonly tokens: TokenSettings;
  readonly stats = newStats();

  // Entries expire, and each store is capped: memory stays bounded however long the server runs.
  readonly transactions = new ExpiringMap<Transaction>(15 * MINUTE, 1_000);
  // Codes are valid for a minute but remembered longer, so a replay is told "already redeemed".
  readonly codes = new ExpiringMap<AuthorizationCode>(10 * MINUTE, 1_000);
  readonly refreshTokens = new ExpiringMap<RefreshGrant>(24 * 60 * MINUTE, 10_000);
  readonly sessions = new ExpiringMap<Session>(8 * 60 * MINUTE, 1_000);
  /** Granted scopes per client and user. */
  private readonly consents = new Map<string, Set<string>>();

  private idTokenOverride: IdTokenOverride | undefined;
  private tokenFailure = { status: 0, remaining: 0 };

  constructor(
    readonly issuer: string,
    keys: SigningKeys,
    options: DevIdentityProviderOptions,
    /** The http://localhost origin of the browser-facing pages. */
    readonly browserOrigin: string = issuer,
  ) {
    // Copies: controls change secrets without touching the caller's objects.
    this.clients = new Map(options.clients.map((client) => [client.clientId, { ...client }]));
    this.users = options.users ?? DEFAULT_USERS;
    this.apis = options.apis ?? [];
    this.consentRequired = options.consentRequired ?? false;
    this.revocation = options.revocation ?? true;
    this.singleUseRefreshTokens = options.singleUseRefreshTokens ?? false;
    this.tokens = {
      issuer,
      keys,
      accessTokenLifetimeSeconds: options.accessTokenLifetimeSeconds ?? 3600,
      idTokenLifetimeSeconds: options.idTokenLifetimeSeconds ?? 3600,
    };
  }

  /** An https endpoint of the issuer's origin, moved to the browser pages' http://localhost origin. */
  toBrowserOrigin(url: string): string {
    return url.startsWith(this.issuer) ? `${this.browserOrigin}${url.slice(this.issuer.length)}` : url;
  }

  get tokenEndpoint(): string {
    return `${this.issuer}/token`;
  }

  userBySub(sub: string): DevUser | undefined {
    return this.users.find((user) => user.sub === sub);
  }

  grantConsent(clientId: string, sub: string, scopes: Iterable<string>): void {
    const key = `${clientId}\n${sub}`;
    const granted = this.consents.get(key) ?? new Set<string>();
    for (const scope of scopes) granted.add(scope);
    this.consents.set(key, granted);
  }

  hasConsent(clientId: string, sub: string, scope: string): boolean {
    return this.consents.get(`${clientId}\n${sub}`)?.has(scope) ?? false;
  }

  /** Ends the provider's own sessions of one user (sign out everywhere). */
  endSessionsOf(sub: string): void {
    for (const [id, session] of this.sessions.list()) if (session.sub === sub) this.sessions.delete(id);
  }

  /** The override for the ID token about to be issued; consumed by the call. */
  takeIdTokenOverride(): IdTokenOverride | undefined {
    const override = this.idTokenOverride;
    this.idTokenOverride = undefined;
    return override;
  }

  /** The status the token endpoint must fail with now, if a failure is still pending. */
  takeTokenFailure(): number | undefined {
    if (this.tokenFailure.remaining <= 0) return undefined;
    this.tokenFailure.remaining -= 1;
    return this.tokenFailure.status;
  }

  readonly controls: DevIdpControls = {
    accessTokenLifetime: (seconds) => {
      if (!Number.isInteger(seconds) || seconds < 1) throw new RangeError('seconds must be a positive integer');
      this.tokens.accessTokenLifetimeSeconds = seconds;
    },
    nextIdToken: (override) => {
      this.idTokenOverride = { ...override };
    },
    failTokenEndpoint: (status, times) => {
      if (!Number.isInteger(status) || status < 400 || status > 599) throw new RangeError('status must be 400-599');
      this.tokenFailure = { status, remaining: Math.max(0, Math.floor(times)) };
    },
    revokeRefreshTokens: (sub) => {
      for (const grant of this.refreshTokens.values()) if (sub === undefined || grant.sub === sub) grant.revoked = true;
    },
    rotateSigningKey: async (options) => {
      await this.tokens.keys.rotate(options?.dropPrevious ?? false);
    },
    holdTokenRequests: (on) => {
      this.tokenRequestsHeld = on;
    },
    clientSecret: (clientId, newSecret) => {
      const client = this.clients.get(clientId);
      if (!client) throw new Error(`unknown client ${clientId}`);
      client.clientSecret = newSecret;
    },
    signLogoutToken: (claims, header) => signLogoutToken(this, claims, header),
    logoutTokenClaims: (clientId, target) => logoutTokenClaims(this, clientId, target),
    signOutEverywhere: (sub) => signOutEverywhere(this, sub),
    sendBackchannelLogout: (target) => sendBackchannelLogout(this, target),
  };
}
