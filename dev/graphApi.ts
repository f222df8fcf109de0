import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:https';
import { listenOnLoopback } from './listen';
import { crc32, deflateSync } from 'node:zlib';
import { createRemoteJWKSet, jwtVerify, type JWTPayload } from 'jose';

/**
 * A small Microsoft Graph stand-in for the local stack: `/v1.0/me` and `/v1.0/me/photo/$value`,
 * behind a bearer token checked as Graph would (signature, issuer, `aud`
 * `https://graph.microsoft.com`, `User.Read` in `scp`). The app reaches it through the same
 * proxy rules as the real Graph; only its base URL differs.
 */
export const GRAPH_RESOURCE = 'https://graph.microsoft.com';
export const GRAPH_USER_READ = 'User.Read';

export interface GraphStandInOptions {
  tls: { certPem: string; keyPem: string };
  /** The dev provider's JWKS. */
  jwksUri: string;
  /** Token issuers accepted (the provider's, per tenant). */
  issuers: string[];
  port?: number;
}

export interface GraphStandIn {
  /** e.g. `https://127.0.0.1:PORT/v1.0`: the value of `DownstreamApis__graph__BaseUrl`. */
  baseUrl: string;
  stats: { requests: number; rejected: number };
  close(): Promise<void>;
}

function send(res: ServerResponse, status: number, body: string | Buffer, type: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store', ...headers });
  res.end(body);
}

function graphError(res: ServerResponse, status: number, code: string, message: string, headers: Record<string, string> = {}): void {
  send(res, status, JSON.stringify({ error: { code, message } }), 'application/json', headers);
}

function chunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

/** A 48x48 PNG in a colour of the user's own: enough to show that the photo went through. */
export function avatarPng(seed: string): Buffer {
  const [r, g, b] = createHash('sha256').update(seed).digest();
  const size = 48;
  const header = Buffer.alloc(13);
  header.writeUInt32BE(size, 0);
  header.writeUInt32BE(size, 4);
  header.set([8, 2, 0, 0, 0], 8);
  const row = Buffer.concat([Buffer.from([0]), Buffer.alloc(size * 3).map((_, i) => [r!, g!, b!][i % 3]!)]);
  const pixels = deflateSync(Buffer.concat(Array.from({ length: size }, () => row)));
  return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk('IHDR', header), chunk('IDAT', pixels), chunk('IEND', Buffer.alloc(0))]);
}

export async function startGraphStandIn(options: GraphStandInOptions): Promise<GraphStandIn> {
  const stats = { requests: 0, rejected: 0 };
  const keys = createRemoteJWKSet(new URL(options.jwksUri), { cooldownDuration: 0 });

  async function user(req: IncomingMessage): Promise<JWTPayload | undefined> {
    const token = /^Bearer\s+([A-Za-z0-9\-_.]+)$/i.exec(req.headers.authorization ?? '')?.[1];
    if (!token) return undefined;
    try {
      const { payload } = await jwtVerify(token, keys, { issuer: options.issuers, audience: GRAPH_RESOURCE, algorithms: ['RS256'], clockTolerance: 5 });
      const scopes = typeof payload.scp === 'string' ? payload.scp.split(' ') : [];
      return scopes.includes(GRAPH_USER_READ) ? payload : undefined;
    } catch {
      return undefined;
    }
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    stats.requests += 1;
    req.resume();
    const me = await user(req);
    if (!me) {
      stats.rejected += 1;
      graphError(res, 401, 'InvalidAuthenticationToken', 'Access token validation failure.', { 'www-authenticate': 'Bearer error="invalid_token"' });
      return;
    }
    const path = (req.url ?? '/').split('?')[0];
    if (req.method === 'GET' && path === '/v1.0/me') {
      const body = {
        '@odata.context': `${GRAPH_RESOURCE}/v1.0/$metadata#users/$entity`,
        id: me.oid,
        displayName: me.name,
        userPrincipalName: me.preferred_username,
        mail: me.preferred_username,
        jobTitle: 'Developer',
        officeLocation: 'Local stack',
      };
      send(res, 200, JSON.stringify(body), 'application/json;odata.metadata=minimal');
    } else if (req.method === 'GET' && path === '/v1.0/me/photo/$value') {
      send(res, 200, avatarPng(String(me.oid)), 'image/png');
    } else {
      graphError(res, 404, 'Request_ResourceNotFound', 'Resource not found.');
    }
  }

  const server = createServer({ cert: options.tls.certPem, key: options.tls.keyPem }, (req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) graphError(res, 500, 'generalException', 'An error occurred.');
      else res.destroy();
    });
  });
  const port = await listenOnLoopback(server, options.port);
  return {
    baseUrl: `https://127.0.0.1:${port}/v1.0`,
    stats,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}
