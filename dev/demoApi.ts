import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:https';
import { listenOnLoopback } from './listen';
import { createClaimsChallenges, type ClaimsChallengeControls } from './claimsChallenges';
import { createRemoteJWKSet, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';

export interface DemoApiOptions {
  tls: { certPem: string; keyPem: string };
  /** The provider's issuer; its discovery document names the JWKS. */
  issuer: string;
  /** Token issuers accepted, when more than `issuer` (Microsoft-shaped authorities: one per tenant). */
  issuers?: string[];
  /** Expected `aud`, e.g. `api://demo-api`. */
  audience: string;
  /** Short scope name the token's `scp` must hold, e.g. `Data.Read` (an app token's `roles` also qualify). */
  requiredScope: string;
  /** A scope calls that change something (not GET, HEAD, OPTIONS) must also hold, e.g. B2C's `demo.write`; without it: 403 insufficient_scope. */
  writeScope?: string;
  port?: number;
}

export interface DemoApiStats {
  requests: number;
  authorized: number;
  rejected: number;
}

export interface DemoApi {
  url: string;
  close(): Promise<void>;
  stats: DemoApiStats;
  /** CAE and authentication-context challenges (dev/claimsChallenges.ts). */
  claimsChallenges: ClaimsChallengeControls;
}

const MAX_BODY_BYTES = 1024 * 1024;
const STREAM_RELEASE_BOUND_MS = 5_000;

class Unauthorized extends Error {}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const noBody = status === 204 || status === 304;
  const text = noBody ? '' : JSON.stringify(body);
  res.writeHead(status, { ...(noBody ? {} : { 'content-type': 'application/json; charset=utf-8' }), 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store', ...headers });
  res.end(text);
}

function unauthorized(res: ServerResponse, description: string): void {
  sendJson(res, 401, { error: 'invalid_token', error_description: description }, {
    'www-authenticate': `Bearer realm="demo-api", error="invalid_token", error_description="${description}"`,
  });
}

async function readText(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new RangeError('body too large');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Finds the JWKS through discovery once; a failed discovery is retried on the next request. */
function keySetFor(issuer: string): JWTVerifyGetKey {
  let keys: Promise<JWTVerifyGetKey> | undefined;
  const load = async (): Promise<JWTVerifyGetKey> => {
    const response = await fetch(`${issuer}/.well-known/openid-configuration`);
    if (!response.ok) throw new Error(`discovery answered ${response.status}`);
    const { jwks_uri: jwksUri } = (await response.json()) as { jwks_uri?: string };
    if (!jwksUri) throw new Error('discovery has no jwks_uri');
    // No cooldown: after the provider rotates its key the next token must verify at once (dev only).
    return createRemoteJWKSet(new URL(jwksUri), { cooldownDuration: 0 });
  };
  return async (header, token) => {
    keys ??= load().catch((err: unknown) => {
      keys = undefined;
      throw err;
    });
    return (await keys)(header, token);
  };
}

function scopesOf(payload: JWTPayload): { scopes: string[]; roles: string[] } {
  const scopes = typeof payload.scp === 'string' ? payload.scp.split(' ').filter(Boolean) : [];
  const roles = Array.isArray(payload.roles) ? payload.roles.filter((role): role is string => typeof role === 'string') : [];
  return { scopes, roles };
}

function profile(payload: JWTPayload): unknown {
  const { scopes, roles } = scopesOf(payload);
  const name = typeof payload.name === 'string' ? payload.name : typeof payload.app_displayname === 'string' ? payload.app_displayname : 'unknown';
  return {
    message: `Hello, ${name}! This answer comes from the demo API.`,
    user: { name, oid: payload.oid, tid: payload['tid'] },
    scopes: scopes.length > 0 ? scopes : roles,
    // Who the token was for and who asked for it: on-behalf-of shows the middle tier here.
    audience: payload.aud,
    azp: payload['azp'],
    issuedAt: typeof payload.iat === 'number' ? new Date(payload.iat * 1000).toISOString() : null,
    items: [
      { id: 1, title: 'Notes on the Analytical Engine' },
      { id: 2, title: 'A-0 compiler manual' },
    ],
  };
}

/** What /echo received, with the credential hidden: proxy tests compare it with what they sent. */
async function echo(req: IncomingMessage, rawUrl: string): Promise<unknown> {
  const queryIndex = rawUrl.indexOf('?');
  const path = queryIndex < 0 ? rawUrl : rawUrl.slice(0, queryIndex);
  const query: Record<string, string | string[]> = {};
  for (const [key, value] of new URLSearchParams(queryIndex < 0 ? '' : rawUrl.slice(queryIndex + 1))) {
    const existing = query[key];
    query[key] = existing === undefined ? value : Array.isArray(existing) ? [...existing, value] : [existing, value];
  }
  const headers: Record<string, string | string[] | boolean> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined) continue;
    if (name === 'authorization') headers[name] = /^bearer\s/i.test(String(value)) ? 'Bearer <redacted>' : '<redacted>';
    else if (name === 'cookie') headers[name] = true;
    else headers[name] = value;
  }
  return { method: req.method, path, query, headers, cookie: req.headers.cookie !== undefined, body: await readText(req) };
}

function routeStatus(res: ServerResponse, code: string): void {
  const status = Number(code);
  if (!/^\d{3}$/.test(code) || status < 200 || status > 599) {
    sendJson(res, 400, { error: 'status must be 200-599' });
    return;
  }
  sendJson(res, status, { status });
}

/** Starts the demo downstream API over HTTPS on loopback; every route requires a valid bearer token. */
export async function startDemoApi(options: DemoApiOptions): Promise<DemoApi> {
  const stats: DemoApiStats = { requests: 0, authorized: 0, rejected: 0 };
  const claimsChallenges = createClaimsChallenges();
  const keys = keySetFor(options.issuer);

  async function authenticate(req: IncomingMessage): Promise<JWTPayload> {
    const match = /^Bearer\s+([A-Za-z0-9\-_.]+)$/i.exec(req.headers.authorization ?? '');
    if (!match) throw new Unauthorized('missing bearer token');
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(match[1]!, keys, {
        issuer: options.issuers ?? options.issuer,
        audience: options.audience,
        algorithms: ['RS256'],
        requiredClaims: ['exp', 'iat'],
        clockTolerance: 5,
      }));
    } catch {
      throw new Unauthorized('the token is not valid');
    }
    const { scopes, roles } = scopesOf(payload);
    if (!scopes.includes(options.requiredScope) && !roles.includes(options.requiredScope)) {
      throw new Unauthorized(`the token lacks the ${options.requiredScope} scope`);
    }
    return payload;
  }

  // /stream: the first chunk at once, the rest when /stream/release is called (or after a bound),
  // so a test can tell a streamed answer from a buffered one by what arrives before it releases.
  const pendingStreams = new Set<(by: string) => void>();
  function streamUntilReleased(res: ServerResponse): void {
    res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' });
    res.write('first\n');
    const finish = (by: string): void => {
      clearTimeout(bound);
      pendingStreams.delete(finish);
      res.end(`released-by:${by}\n`);
    };
    const bound = setTimeout(() => finish('timeout'), STREAM_RELEASE_BOUND_MS);
    pendingStreams.add(finish);
    res.once('close', () => {
      clearTimeout(bound);
      pendingStreams.delete(finish);
    });
  }
  function releaseStreams(): number {
    const waiting = [...pendingStreams];
    for (const finish of waiting) finish('client');
    return waiting.length;
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    stats.requests += 1;
    const rawUrl = req.url ?? '/';
    let payload: JWTPayload;
    try {
      payload = await authenticate(req);
    } catch (err) {
      if (!(err instanceof Unauthorized)) throw err;
      stats.rejected += 1;
      req.resume();
      unauthorized(res, err.message);
      return;
    }
    stats.authorized += 1;
    const path = rawUrl.split('?')[0]!;
    const method = req.method ?? 'GET';
    if (options.writeScope && !['GET', 'HEAD', 'OPTIONS'].includes(method) && !scopesOf(payload).scopes.includes(options.writeScope)) {
      req.resume();
      // RFC 6750: a valid token without the scope is 403, not 401 (a new token of the same grant would not help).
      sendJson(res, 403, { error: 'insufficient_scope', scope: options.writeScope }, { 'www-authenticate': `Bearer realm="demo-api", error="insufficient_scope", scope="${options.writeScope}"` });
      return;
    }
    if (claimsChallenges.intercept(payload, path, res)) {
      req.resume();
      return;
    }
    if (method === 'GET' && path === '/step-up') {
      req.resume();
      sendJson(res, 200, { message: 'Authentication context c1 satisfied.', acrs: payload['acrs'] });
      return;
    }
    if (path === '/echo' || path.startsWith('/echo/')) {
      sendJson(res, 200, await echo(req, rawUrl));
      return;
    }
    req.resume();
    if (method === 'GET' && path === '/stream') return streamUntilReleased(res);
    if (method === 'POST' && path === '/stream/release') {
      const released = releaseStreams();
      sendJson(res, 200, { released });
      return;
    }
    const status = /^\/status\/([^/]+)$/.exec(path);
    if (method === 'GET' && path === '/profile') sendJson(res, 200, profile(payload));
    else if (method === 'GET' && path === '/set-cookie') sendJson(res, 200, { cookie: 'set' }, { 'set-cookie': 'demo_api=1; Path=/; Secure; HttpOnly' });
    else if (status) routeStatus(res, status[1]!);
    else sendJson(res, 404, { error: 'not_found' });
  }

  const server = createServer({ cert: options.tls.certPem, key: options.tls.keyPem }, (req, res) => {
    handle(req, res).catch((err: unknown) => {
      // Status only: the error could carry request material.
      const tooLarge = err instanceof RangeError;
      if (!res.headersSent) sendJson(res, tooLarge ? 413 : 500, { error: tooLarge ? 'payload_too_large' : 'server_error' });
      else res.destroy();
    });
  });
  const port = await listenOnLoopback(server, options.port);

  return {
    url: `https://127.0.0.1:${port}`,
    stats,
    claimsChallenges,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}
