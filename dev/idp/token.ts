import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createLocalJWKSet, errors as joseErrors, jwtVerify, type JWTPayload } from 'jose';
import { authenticateClient } from './clientAuth';
import { OAuthError, invalidGrant, invalidRequest, sendOAuthError } from './errors';
import { HttpError, readParams, sendJson } from './http';
import { GRAPH_AUDIENCE, ScopeError, resolveScopes, shortScopeName, splitScopes, type ResolvedScopes } from './scopes';
import { randomId } from './store';
import { clientInfo, issueAccessToken, issueIdToken, type TokenSettings } from './tokens';
import { dialectOf, type Dialect } from './dialect';
import { missingAuthContext, parseClaimsRequest, type ClaimsRequest } from './claimsRequest';
import type { ProviderState, RefreshGrant } from './state';
import { DEV_TENANT_ID, servicePrincipalId } from './users';
import type { DevApi, DevClient, DevIdpGrant, DevUser } from './types';

type TokenResponse = Record<string, string | number>;

function resolve(scopes: readonly string[], state: ProviderState): ResolvedScopes {
  try {
    return resolveScopes(scopes, state.apis);
  } catch (err) {
    if (err instanceof ScopeError) throw new OAuthError(400, err.error, err.description);
    throw err;
  }
}

/** The delegated scopes the user holds on `api` for this request, or a consent error. */
function grantedScopes(state: ProviderState, client: DevClient, user: DevUser, resource: ResolvedScopes['resources'][number]): string[] {
  const { api } = resource;
  const wanted = resource.defaultScope ? api.scopes : resource.scopes;
  if (!state.consentRequired) return [...new Set([...resource.scopes, ...wanted])];
  const granted = wanted.filter((scope) => state.hasConsent(client.clientId, user.sub, scope));
  const missing = resource.defaultScope ? granted.length === 0 : granted.length < wanted.length;
  if (missing) {
    throw invalidGrant(
      `AADSTS65001: The user or administrator has not consented to use the application with ID '${client.clientId}'. Send an interactive authorization request for this user and resource.`,
      'consent_required',
    );
  }
  return granted;
}

interface UserTokenInput {
  client: DevClient;
  user: DevUser;
  scopes: ResolvedScopes;
  /** The first resource gets the access token; more than one is refused on refresh, as Entra does. */
  resource: ResolvedScopes['resources'][number] | undefined;
  nonce?: string;
  sid: string;
  authTime: number;
  refresh: RefreshGrant;
  dialect: Dialect;
  claims: ClaimsRequest;
}

/** Token settings with the issuer of the authority the request came to, for the user's (or app's) tenant. */
export function tokensFor(state: ProviderState, dialect: Dialect, tid: string): TokenSettings {
  return { ...state.tokens, issuer: dialect.issuerFor(tid) };
}

/** Claims a B2C user flow adds: which policy issued the token. */
export function dialectClaims(dialect: Dialect): Record<string, unknown> | undefined {
  return dialect.policy ? { tfp: dialect.policy, acr: dialect.policy.toLowerCase() } : undefined;
}

async function issueUserTokens(state: ProviderState, input: UserTokenInput): Promise<TokenResponse> {
  const { client, user, scopes, resource, dialect } = input;
  const tokens = tokensFor(state, dialect, user.tid);
  const extra = dialectClaims(dialect);
  const acrs = input.refresh.acrs;
  const accessExtra = {
    ...extra,
    ...(acrs && acrs.length > 0 ? { acrs } : {}),
    // Entra marks tokens of clients that declared cp1; APIs only challenge those.
    ...(input.claims.capabilities.length > 0 ? { xms_cc: input.claims.capabilities } : {}),
  };
  let audience: string;
  let scopeStrings: string[];
  let scp: string[];
  if (resource) {
    scopeStrings = grantedScopes(state, client, user, resource);
    audience = resource.api.tokenAudience ?? resource.api.audience;
    scp = scopeStrings.map((scope) => shortScopeName(resource.api, scope));
  } else {
    // Sign-in only: a token for the app itself (and /userinfo), as Entra would issue one for Graph.
    scopeStrings = scopes.oidc.filter((scope) => scope !== 'offline_access');
    audience = client.clientId;
    scp = scopeStrings;
  }
  const access = await issueAccessToken(tokens, { audience, clientId: client.clientId, user, scp, extra: accessExtra });
  state.stats.issued.accessTokens += 1;
  const response: TokenResponse = {
    token_type: 'Bearer',
    // Entra names Microsoft Graph's scopes without the resource (`User.Read`).
    scope: (resource?.api.audience === GRAPH_AUDIENCE ? scp : scopeStrings).join(' '),
    expires_in: access.expiresIn,
    ext_expires_in: access.expiresIn,
    access_token: access.token,
  };
  if (scopes.oidc.includes('offline_access')) {
    const refreshToken = randomId(48);
    state.refreshTokens.set(refreshToken, { ...input.refresh, revoked: false });
    state.stats.issued.refreshTokens += 1;
    response.refresh_token = refreshToken;
  }
  if (scopes.oidc.includes('openid')) {
    const idTokenInput = { user, clientId: client.clientId, nonce: input.nonce, sid: input.sid, authTime: input.authTime, extra };
    response.id_token = await issueIdToken(tokens, idTokenInput, state.takeIdTokenOverride());
    state.stats.issued.idTokens += 1;
  }
  response.client_info = clientInfo(user);
  return response;
}

function pkceMatches(verifier: string | undefined, challenge: string): boolean {
  if (!verifier || !/^[A-Za-z0-9\-._~]{43,128}$/.test(verifier)) return false;
  return createHash('sha256').update(verifier).digest('base64url') === challenge;
}

async function authorizationCodeGrant(state: ProviderState, client: DevClient, params: Map<string, string>, dialect: Dialect): Promise<TokenResponse> {
  const codeValue = params.get('code');
  if (!codeValue) throw invalidRequest("AADSTS900144: The request body must contain the following parameter: 'code'.");
  const code = state.codes.get(codeValue);
  if (!code) throw invalidGrant("AADSTS70000: The provided value for the 'code' parameter is not valid.");
  if (code.used) throw invalidGrant('AADSTS54005: OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an existing refresh token.');
  if (code.expiresAt <= Date.now()) throw invalidGrant('AADSTS70008: The provided authorization code or refresh token has expired due to inactivity.');
  if (code.clientId !== client.clientId) throw invalidGrant('AADSTS70000: The code was issued to a different application.');
  if (params.get('redirect_uri') !== code.redirectUri) {
    throw invalidGrant('AADSTS50011: The redirect_uri does not match the redirect URI used to obtain the authorization code.');
  }
  if (!pkceMatches(params.get('code_verifier'), code.codeChallenge)) {
    throw invalidGrant('AADSTS50148: The code_verifier does not match the code_challenge supplied in the authorization request for PKCE.');
  }
  const user = state.userBySub(code.sub);
  if (!user) throw invalidGrant('AADSTS50034: The user account does not exist.');
  code.used = true;
  const scopes = resolve(code.scopes, state);
  return issueUserTokens(state, {
    client,
    user,
    scopes,
    resource: scopes.resources[0],
    nonce: code.nonce,
    sid: code.sid,
    authTime: code.authTime,
    refresh: { clientId: client.clientId, sub: user.sub, sid: code.sid, authTime: code.authTime, scopes: code.scopes, revoked: false, ...(code.acrs ? { acrs: code.acrs } : {}) },
    dialect,
    claims: parseClaimsRequest(params.get('claims')),
  });
}

async function refreshTokenGrant(state: ProviderState, client: DevClient, params: Map<string, string>, dialect: Dialect): Promise<TokenResponse> {
  const token = params.get('refresh_token');
  if (!token) throw invalidRequest("AADSTS900144: The request body must contain the following parameter: 'refresh_token'.");
  const grant = state.refreshTokens.get(token);
  if (!grant) throw invalidGrant('AADSTS9002313: Invalid request. Request is malformed or invalid. The refresh token is not valid.');
  if (grant.revoked) {
    throw invalidGrant('AADSTS700082: The refresh token has expired due to inactivity. The token was issued on an earlier date and is no longer valid.');
  }
  if (grant.clientId !== client.clientId) throw invalidGrant('AADSTS700005: The refresh token was issued to a different application.');
  const user = state.userBySub(grant.sub);
  if (!user) throw invalidGrant('AADSTS50034: The user account does not exist.');
  const requested = splitScopes(params.get('scope'));
  const scopes = resolve(requested.length > 0 ? requested : grant.scopes, state);
  if (scopes.resources.length > 1) {
    throw new OAuthError(400, 'invalid_scope', 'AADSTS28000: Provided value for the input parameter scope is not valid because it contains more than one resource.');
  }
  const claims = parseClaimsRequest(params.get('claims'));
  const missing = missingAuthContext(claims.acrs, grant.acrs);
  if (missing.length > 0) {
    // A step-up (authentication context) needs the user: Entra answers with the claims to ask for.
    throw new OAuthError(
      400,
      'interaction_required',
      'AADSTS50076: Due to a configuration change made by your administrator, or because you moved to a new location, you must use multi-factor authentication to access this resource.',
      undefined,
      JSON.stringify({ access_token: { acrs: { essential: true, value: missing[0] } } }),
    );
  }
  // Entra always rotates on refresh; earlier refresh tokens stay valid, unless single-use is on.
  if (state.singleUseRefreshTokens) state.refreshTokens.delete(token);
  const withOffline: ResolvedScopes = { ...scopes, oidc: [...new Set([...scopes.oidc, 'offline_access'])] };
  return issueUserTokens(state, {
    client,
    user,
    scopes: withOffline,
    resource: scopes.resources[0],
    sid: grant.sid,
    authTime: grant.authTime,
    refresh: { ...grant },
    dialect,
    claims,
  });
}

function appRoles(api: DevApi): string[] {
  return api.appRoles ?? api.scopes.map((scope) => shortScopeName(api, scope));
}

async function clientCredentialsGrant(state: ProviderState, client: DevClient, params: Map<string, string>, dialect: Dialect): Promise<TokenResponse> {
  const requested = splitScopes(params.get('scope'));
  const scopes = resolve(requested, state);
  const resource = scopes.resources[0];
  if (requested.length !== 1 || !resource?.defaultScope) {
    throw new OAuthError(
      400,
      'invalid_scope',
      `AADSTS1002012: The provided value for scope ${requested.join(' ')} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).`,
    );
  }
  const app = { oid: servicePrincipalId(client.clientId), tid: DEV_TENANT_ID, displayName: client.displayName ?? client.clientId };
  const access = await issueAccessToken(tokensFor(state, dialect, app.tid), {
    audience: resource.api.tokenAudience ?? resource.api.audience,
    clientId: client.clientId,
    roles: appRoles(resource.api),
    app,
  });
  state.stats.issued.accessTokens += 1;
  return { token_type: 'Bearer', expires_in: access.expiresIn, ext_expires_in: access.expiresIn, access_token: access.token };
}

/** The issuers this provider's tokens carry, whichever authority path issued them (plain, per tenant, B2C). */
function isOwnIssuer(state: ProviderState, iss: unknown, tid: unknown): boolean {
  return iss === state.issuer || iss === `${state.issuer}/${String(tid)}/v2.0` || iss === `${state.issuer}/${DEV_TENANT_ID}/v2.0/`;
}

/** A token for the client itself: its client id, or the App ID URI of an API it exposes. */
function isForClient(state: ProviderState, client: DevClient, aud: unknown): boolean {
  const audiences = Array.isArray(aud) ? aud : [aud];
  return audiences.some((a) => a === client.clientId || state.apis.some((api) => api.clientId === client.clientId && api.audience === a));
}

/**
 * On-behalf-of (RFC 7523 JWT bearer grant with `requested_token_use=on_behalf_of`), as Entra:
 * the client presents a user's access token issued to it (signature by this provider's keys,
 * its audience the client, within its lifetime) and gets a token for a downstream API for the
 * same user (`oid`, `tid`), subject to the user's consent and the API's Conditional Access.
 */
async function onBehalfOfGrant(state: ProviderState, client: DevClient, params: Map<string, string>, dialect: Dialect): Promise<TokenResponse> {
  if (params.get('requested_token_use') !== 'on_behalf_of') {
    throw invalidRequest("AADSTS900144: The request body must contain the following parameter: 'requested_token_use' with the value 'on_behalf_of'.");
  }
  const assertion = params.get('assertion');
  if (!assertion) throw invalidRequest("AADSTS900144: The request body must contain the following parameter: 'assertion'.");
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(assertion, createLocalJWKSet(state.tokens.keys.jwks()), { algorithms: ['RS256'], requiredClaims: ['iss', 'aud', 'exp'], clockTolerance: 5 }));
  } catch (err) {
    if (err instanceof joseErrors.JWTExpired) throw invalidGrant('AADSTS500133: Assertion is not within its valid time range.');
    throw invalidGrant('AADSTS50013: Assertion failed signature validation.');
  }
  if (!isOwnIssuer(state, payload.iss, payload['tid'])) throw invalidGrant('AADSTS50013: Assertion failed signature validation. [Reason - The assertion was not issued by this authority.]');
  if (!isForClient(state, client, payload.aud)) throw invalidGrant('AADSTS50013: Assertion audience does not match the Client app presenting the assertion.');
  if (typeof payload['scp'] !== 'string') throw invalidGrant('AADSTS50013: The assertion is an app-only token; on-behalf-of needs a token for a user.');
  const user = typeof payload.sub === 'string' ? state.userBySub(payload.sub) : undefined;
  if (!user) throw invalidGrant('AADSTS50034: The user account does not exist.');
  const requested = splitScopes(params.get('scope'));
  const scopes = resolve(requested, state);
  const resource = scopes.resources[0];
  if (!resource) throw new OAuthError(400, 'invalid_scope', "AADSTS70011: The provided value for the input parameter 'scope' is not valid: name the downstream API's scopes.");
  if (scopes.resources.length > 1) {
    throw new OAuthError(400, 'invalid_scope', 'AADSTS28000: Provided value for the input parameter scope is not valid because it contains more than one resource.');
  }
  const acrs = Array.isArray(payload['acrs']) ? (payload['acrs'] as unknown[]).filter((a): a is string => typeof a === 'string') : [];
  const needed = resource.api.requiredAuthContext;
  if (needed && !acrs.includes(needed)) {
    throw new OAuthError(
      400,
      'interaction_required',
      `AADSTS50076: Due to a configuration change made by your administrator, or because you moved to a new location, you must use multi-factor authentication to access '${resource.api.audience}'.`,
      undefined,
      JSON.stringify({ access_token: { acrs: { essential: true, value: needed } } }),
    );
  }
  const sid = typeof payload['sid'] === 'string' ? payload['sid'] : randomId(16);
  const authTime = typeof payload.iat === 'number' ? payload.iat : Math.floor(Date.now() / 1000);
  return issueUserTokens(state, {
    client,
    user,
    scopes,
    resource,
    sid,
    authTime,
    refresh: { clientId: client.clientId, sub: user.sub, sid, authTime, scopes: requested, revoked: false, ...(acrs.length > 0 ? { acrs } : {}) },
    dialect,
    claims: parseClaimsRequest(params.get('claims')),
  });
}

const JWT_BEARER_GRANT = 'urn:ietf:params:oauth:grant-type:jwt-bearer';

const GRANTS: Record<string, { stat: Exclude<DevIdpGrant, 'other'>; grant: typeof authorizationCodeGrant }> = {
  authorization_code: { stat: 'authorization_code', grant: authorizationCodeGrant },
  refresh_token: { stat: 'refresh_token', grant: refreshTokenGrant },
  client_credentials: { stat: 'client_credentials', grant: clientCredentialsGrant },
  [JWT_BEARER_GRANT]: { stat: 'on_behalf_of', grant: onBehalfOfGrant },
};

function isKnownGrant(grant: string | undefined): grant is keyof typeof GRANTS {
  return grant !== undefined && Object.hasOwn(GRANTS, grant);
}

export async function handleToken(state: ProviderState, req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
  // A hung endpoint: the request is accepted and never answered (the server's close() ends it).
  if (state.tokenRequestsHeld) return;
  try {
    if (req.method !== 'POST') throw new OAuthError(405, 'invalid_request', 'AADSTS900561: The endpoint only accepts POST requests.');
    let params: Map<string, string>;
    try {
      params = await readParams(req, url);
    } catch (err) {
      if (err instanceof HttpError) throw new OAuthError(err.status === 413 ? 413 : 400, 'invalid_request', `AADSTS900144: ${err.message}.`);
      throw err;
    }
    const grantType = params.get('grant_type');
    state.stats.grants[isKnownGrant(grantType) ? GRANTS[grantType]!.stat : 'other'] += 1;

    const failure = state.takeTokenFailure();
    if (failure !== undefined) {
      throw new OAuthError(failure, 'temporarily_unavailable', 'AADSTS90033: A transient error has occurred. Please try again.');
    }
    const client = await authenticateClient(state, req, params);
    if (!grantType) throw invalidRequest("AADSTS900144: The request body must contain the following parameter: 'grant_type'.");
    if (!isKnownGrant(grantType)) {
      throw new OAuthError(400, 'unsupported_grant_type', `AADSTS70003: The app requested an unsupported grant type '${grantType}'.`);
    }
    sendJson(res, 200, await GRANTS[grantType]!.grant(state, client, params, dialectOf(req, state.issuer)));
  } catch (err) {
    if (err instanceof OAuthError) sendOAuthError(res, err);
    else throw err;
  }
}
