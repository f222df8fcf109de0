import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer as createHttpServer } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { Server as NetServer } from 'node:net';
import { listenOnLoopback } from '../listen';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { handleAuthorize, handleConsent, handleLogin } from './authorize';
import { dialectOf, parseDialect, setDialect, type Dialect } from './dialect';
import { HttpError, sendJson } from './http';
import { SigningKeys } from './keys';
import { handleLogout } from './logout';
import { handleSignOutEverywhere } from './logoutNotify';
import { handleRevoke } from './revoke';
import { OIDC_SCOPES } from './scopes';
import { ProviderState } from './state';
import { handleToken } from './token';
import type { DevIdentityProvider, DevIdentityProviderOptions, DevIdpEndpoint } from './types';

export type * from './types';
export { DEFAULT_USERS, DEV_TENANT_ID } from './users';
export { MULTI_TENANT } from './dialect';

function discoveryDocument(state: ProviderState, dialect: Dialect): Record<string, unknown> {
  const { issuer } = state;
  return {
    issuer: dialect.metadataIssuer,
    // The pages a browser sees are on http://localhost (a secure context), so no certificate warning.
    authorization_endpoint: state.toBrowserOrigin(dialect.endpoints.authorize),
    token_endpoint: dialect.endpoints.token,
    jwks_uri: dialect.endpoints.jwks,
    userinfo_endpoint: `${issuer}/userinfo`,
    end_session_endpoint: state.toBrowserOrigin(dialect.endpoints.logout),
    frontchannel_logout_supported: true,
    frontchannel_logout_session_supported: true,
    // Entra and B2C send no back-channel logout; a generic provider (Duende, Keycloak) does.
    ...(dialect.kind === 'oidc' ? { backchannel_logout_supported: true, backchannel_logout_session_supported: true } : {}),
    ...(dialect.kind === 'oidc' && state.revocation ? { revocation_endpoint: `${issuer}/revoke`, revocation_endpoint_auth_methods_supported: ['client_secret_post', 'client_secret_basic', 'private_key_jwt'] } : {}),
    response_types_supported: ['code'],
    response_modes_supported: ['query', 'form_post'],
    grant_types_supported: ['authorization_code', 'refresh_token', 'client_credentials', 'urn:ietf:params:oauth:grant-type:jwt-bearer'],
    subject_types_supported: ['public'],
    id_token_signing_alg_values_supported: ['RS256'],
    code_challenge_methods_supported: ['S256'],
    token_endpoint_auth_methods_supported: ['client_secret_post', 'client_secret_basic', 'private_key_jwt'],
    token_endpoint_auth_signing_alg_values_supported: ['RS256', 'PS256', 'ES256'],
    scopes_supported: [...OIDC_SCOPES, ...state.apis.flatMap((api) => api.scopes)],
    claims_supported: ['iss', 'sub', 'aud', 'exp', 'iat', 'nbf', 'auth_time', 'nonce', 'name', 'preferred_username', 'email', 'oid', 'tid', 'sid', 'ver'],
    prompt_values_supported: ['none', 'login', 'consent', 'select_account'],
    request_parameter_supported: false,
    request_uri_parameter_supported: false,
  };
}

/** GET /userinfo with one of our access tokens for a user. */
async function handleUserinfo(state: ProviderState, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const token = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
  try {
    if (!token) throw new Error('no token');
    const { payload } = await jwtVerify(token, createLocalJWKSet(state.tokens.keys.jwks()), { issuer: state.issuer, algorithms: ['RS256'] });
    const user = typeof payload.sub === 'string' ? state.userBySub(payload.sub) : undefined;
    if (!user) throw new Error('not a user token');
    sendJson(res, 200, { sub: user.sub, name: user.name, preferred_username: user.username, email: user.email ?? user.username, oid: user.oid, tid: user.tid });
  } catch {
    sendJson(res, 401, { error: 'invalid_token' }, { 'www-authenticate': 'Bearer error="invalid_token"' });
  }
}

type Handler = (state: ProviderState, req: IncomingMessage, res: ServerResponse, url: URL) => Promise<void> | void;

/** `browser`: also served on the http://localhost origin, where a browser needs no certificate trust. */
const ROUTES: Record<string, { endpoint: DevIdpEndpoint; methods: string[]; handler: Handler; browser?: true }> = {
  '/.well-known/openid-configuration': {
    endpoint: 'discovery',
    methods: ['GET'],
    handler: (state, req, res) => sendJson(res, 200, discoveryDocument(state, dialectOf(req, state.issuer)), { 'cache-control': 'no-cache' }),
  },
  '/jwks': { endpoint: 'jwks', methods: ['GET'], handler: (state, _req, res) => sendJson(res, 200, state.tokens.keys.jwks(), { 'cache-control': 'no-cache' }) },
  '/authorize': { endpoint: 'authorize', methods: ['GET', 'POST'], handler: handleAuthorize, browser: true },
  '/authorize/login': { endpoint: 'login', methods: ['POST'], handler: handleLogin, browser: true },
  '/authorize/consent': { endpoint: 'consent', methods: ['POST'], handler: handleConsent, browser: true },
  '/token': { endpoint: 'token', methods: ['POST'], handler: handleToken },
  '/userinfo': { endpoint: 'userinfo', methods: ['GET', 'POST'], handler: handleUserinfo },
  '/logout': { endpoint: 'logout', methods: ['GET', 'POST'], handler: handleLogout, browser: true },
  '/revoke': { endpoint: 'revoke', methods: ['POST'], handler: handleRevoke },
  '/logout/everywhere': { endpoint: 'logout', methods: ['GET', 'POST'], handler: handleSignOutEverywhere },
};

async function route(state: ProviderState, req: IncomingMessage, res: ServerResponse, channel: 'https' | 'browser'): Promise<void> {
  const url = new URL(req.url ?? '/', channel === 'https' ? state.issuer : state.browserOrigin);
  // Microsoft's authority paths (tenant, B2C policy) map onto the same endpoints, on either origin;
  // tokens name the https issuer whichever origin showed the page.
  const { route: path, dialect } = parseDialect(state.issuer, url.pathname);
  setDialect(req, dialect);
  const found = Object.hasOwn(ROUTES, path) ? ROUTES[path] : undefined;
  // Tokens, keys and discovery stay on https: the plain-http origin serves pages only.
  const entry = channel === 'browser' && !found?.browser ? undefined : found;
  state.stats.requests[entry?.endpoint ?? 'other'] += 1;
  if (!entry) {
    sendJson(res, 404, { error: 'not_found' });
    return;
  }
  // The token endpoint answers a wrong method itself, in OAuth's error shape.
  if (!entry.methods.includes(req.method ?? '') && entry.endpoint !== 'token') {
    sendJson(res, 405, { error: 'method_not_allowed' }, { allow: entry.methods.join(', ') });
    return;
  }
  await entry.handler(state, req, res, url);
}

/**
 * Starts a dev OpenID Connect provider on loopback. Its issuer, token endpoint and keys are
 * `https://127.0.0.1:PORT` (MSAL requires an https authority); the pages a browser sees
 * (authorize, login, consent, end-session) are also served on `http://localhost:PORT2`, which
 * browsers treat as a secure context, and the discovery document sends browsers there.
 */
export async function startDevIdentityProvider(options: DevIdentityProviderOptions): Promise<DevIdentityProvider> {
  const keys = await SigningKeys.create();
  let state: ProviderState | undefined;
  const handler = (channel: 'https' | 'browser') => (req: IncomingMessage, res: ServerResponse) => {
    if (!state) {
      res.writeHead(503).end();
      return;
    }
    route(state, req, res, channel).catch((err: unknown) => {
      // Never echo the error: it could carry request material. Status only.
      const status = err instanceof HttpError ? err.status : 500;
      if (!res.headersSent) sendJson(res, status, { error: status === 500 ? 'server_error' : 'invalid_request' });
      else res.destroy();
    });
  };
  const server = createServer({ cert: options.tls.certPem, key: options.tls.keyPem }, handler('https'));
  const browserServer = createHttpServer(handler('browser'));
  const port = await listenOnLoopback(server, options.port);
  const browserPort = await listenOnLoopback(browserServer).catch(async (error: unknown) => {
    server.close();
    throw error;
  });
  const issuer = `https://127.0.0.1:${options.publicPort || port}`;
  const browserOrigin = `http://localhost:${browserPort}`;
  state = new ProviderState(issuer, keys, options, browserOrigin);

  const closeServer = (s: NetServer & { closeAllConnections(): void }) =>
    new Promise<void>((resolve, reject) => {
      s.close((err) => (err ? reject(err) : resolve()));
      // Keep-alive connections (fetch's pool, browsers) would otherwise hold close() open.
      s.closeAllConnections();
    });
  return {
    issuer,
    port,
    browserOrigin,
    controls: state.controls,
    stats: state.stats,
    close: async () => {
      await Promise.all([closeServer(server), closeServer(browserServer)]);
    },
  };
}
export { FABRIKAM_TENANT_ID, FABRIKAM_USER, GUEST_USER, MULTI_TENANT_USERS } from './tenantUsers';
