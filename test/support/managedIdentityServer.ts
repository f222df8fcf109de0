import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignJWT, exportJWK, generateKeyPair, jwtVerify, createLocalJWKSet, type JSONWebKeySet } from 'jose';

/**
 * The managed identity endpoint of App Service and Azure Functions on loopback, as
 * `IDENTITY_ENDPOINT`/`IDENTITY_HEADER` define it (API version 2019-08-01): `GET
 * {IDENTITY_ENDPOINT}?api-version=2019-08-01&resource=…[&client_id=…]` with the
 * `X-IDENTITY-HEADER` secret answers `{ access_token, expires_on, resource, token_type,
 * client_id }`. Plain http, as on App Service. Tokens are JWTs signed by a key the test can
 * give the provider (a federated credential) or the vault (to check bearer tokens).
 */
export interface ManagedIdentity {
  /** The user-assigned identity's client id. */
  readonly clientId: string;
  /** Its principal (object) id: the `sub` of its tokens. */
  readonly principalId: string;
}

export interface ManagedIdentityServerOptions {
  readonly identities: readonly ManagedIdentity[];
  readonly tenantId?: string;
  readonly tokenLifetimeSeconds?: number;
}

export interface ManagedIdentityStats {
  /** Tokens issued, by resource (e.g. `api://AzureADTokenExchange`). */
  tokens: Record<string, number>;
  refused: number;
  reset(): void;
}

export interface ManagedIdentityServer {
  /** For `IDENTITY_ENDPOINT`. */
  readonly endpoint: string;
  /** For `IDENTITY_HEADER`. */
  readonly header: string;
  /** The `iss` of its tokens, as Entra's: `https://login.microsoftonline.com/{tenant}/v2.0`. */
  readonly issuer: string;
  readonly jwks: JSONWebKeySet;
  readonly stats: ManagedIdentityStats;
  /** Verifies one of its tokens for `audience`; returns the principal id, or undefined. */
  verify(token: string, audience: string): Promise<string | undefined>;
  close(): Promise<void>;
}

const API_VERSION = '2019-08-01';

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

export async function startManagedIdentityServer(options: ManagedIdentityServerOptions): Promise<ManagedIdentityServer> {
  const tenantId = options.tenantId ?? randomUUID();
  const issuer = `https://login.microsoftonline.com/${tenantId}/v2.0`;
  const lifetime = options.tokenLifetimeSeconds ?? 24 * 60 * 60;
  const header = randomBytes(16).toString('hex');
  const { privateKey, publicKey } = await generateKeyPair('RS256');
  const kid = randomBytes(8).toString('hex');
  const jwks: JSONWebKeySet = { keys: [{ ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' }] };
  const keySet = createLocalJWKSet(jwks);
  const stats: ManagedIdentityStats = {
    tokens: {},
    refused: 0,
    reset() {
      stats.tokens = {};
      stats.refused = 0;
    },
  };

  async function issue(identity: ManagedIdentity, resource: string): Promise<{ token: string; expiresOn: number }> {
    const now = Math.floor(Date.now() / 1000);
    const token = await new SignJWT({ oid: identity.principalId, tid: tenantId, azp: identity.clientId, appid: identity.clientId, idtyp: 'app' })
      .setProtectedHeader({ alg: 'RS256', kid, typ: 'JWT' })
      .setIssuer(issuer)
      .setSubject(identity.principalId)
      .setAudience(resource)
      .setIssuedAt(now)
      .setNotBefore(now)
      .setExpirationTime(now + lifetime)
      .sign(privateKey);
    return { token, expiresOn: now + lifetime };
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (req.headers['x-identity-header'] !== header) {
      stats.refused++;
      return sendJson(res, 401, { statusCode: 401, message: 'Unauthorized: the X-IDENTITY-HEADER is missing or wrong.' });
    }
    const resource = url.searchParams.get('resource');
    if (url.searchParams.get('api-version') !== API_VERSION || !resource) {
      stats.refused++;
      return sendJson(res, 400, { statusCode: 400, message: 'api-version 2019-08-01 and resource are required.' });
    }
    const clientId = url.searchParams.get('client_id');
    // Without a client id App Service answers for the system-assigned identity: the first here.
    const identity = clientId ? options.identities.find((i) => i.clientId === clientId) : options.identities[0];
    if (!identity) {
      stats.refused++;
      return sendJson(res, 400, { statusCode: 400, message: `No managed identity with client id ${clientId} is assigned to this app.` });
    }
    const { token, expiresOn } = await issue(identity, resource);
    stats.tokens[resource] = (stats.tokens[resource] ?? 0) + 1;
    sendJson(res, 200, { access_token: token, expires_on: String(expiresOn), resource, token_type: 'Bearer', client_id: identity.clientId });
  }

  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) sendJson(res, 500, { statusCode: 500, message: 'The test identity endpoint failed.' });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}/msi/token`;

  return {
    endpoint,
    header,
    issuer,
    jwks,
    stats,
    async verify(token, audience) {
      try {
        const { payload } = await jwtVerify(token, keySet, { issuer, audience });
        return payload.sub;
      } catch {
        return undefined;
      }
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
