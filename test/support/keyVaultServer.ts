import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { AccessToken, TokenCredential } from '@azure/core-auth';

/**
 * An HTTPS Key Vault on loopback that speaks the REST protocol for the routes SecretClient's
 * getSecret calls, `GET /secrets/{name}/{version?}?api-version=…`, and Set Secret (`PUT
 * /secrets/{name}`, which the post-provision hook calls), behind Key Vault's challenge
 * flow (a request without a token gets 401 with `WWW-Authenticate: Bearer authorization=…,
 * resource=…`; the SDK then asks its credential for a token and sends it as a bearer).
 */
export interface KeyVaultServerOptions {
  readonly tls: { readonly certPem: string; readonly keyPem: string };
  /** Decides whether a bearer token may read; default any token. */
  readonly authorize?: (token: string) => boolean | Promise<boolean>;
  readonly tenantId?: string;
}

export interface KeyVaultStats {
  /** Every request that reached the vault, challenges included. */
  requests: number;
  /** Requests without a token, answered with the 401 challenge. */
  challenges: number;
  /** Secret values served (200). */
  reads: number;
  /** 401 for a bad token, 403 while access is denied. */
  refused: number;
  notFound: number;
  /** Secret versions written through the REST API (PUT). */
  writes: number;
  reset(): void;
}

/** A version of a secret as the vault holds it. */
export interface StoredSecret {
  readonly value: string;
  readonly contentType?: string;
}

export interface SecretOptions {
  readonly contentType?: string;
  /** A certificate's secret: Key Vault adds `kid` and `managed: true`. */
  readonly certificate?: boolean;
}

export interface KeyVaultServer {
  /** `https://127.0.0.1:PORT`: what `KeyVaultUrl` settings name. */
  readonly url: string;
  readonly stats: KeyVaultStats;
  /** Adds a new version of a secret (or certificate's secret); returns the version id. */
  setSecret(name: string, value: string, options?: SecretOptions): string;
  deleteSecret(name: string): void;
  /** The versions of a secret, oldest first. */
  secretVersions(name: string): StoredSecret[];
  /** While on, every authenticated read answers 403 ForbiddenByRbac (the identity lacks its role). */
  denyAccess(on: boolean): void;
  /** Stops listening and drops open connections: the vault becomes unreachable. */
  stop(): Promise<void>;
  /** Listens again on the same port. */
  start(): Promise<void>;
  close(): Promise<void>;
}

interface SecretVersion {
  readonly version: string;
  readonly value: string;
  readonly options: SecretOptions;
  readonly created: number;
}

export const KEY_VAULT_RESOURCE = 'https://vault.azure.net';
const SECRET_ROUTE = /^\/secrets\/([0-9A-Za-z-]{1,127})(?:\/([0-9a-f]{32})?)?\/?$/;

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

function keyVaultError(res: ServerResponse, status: number, code: string, message: string, headers: Record<string, string> = {}, inner?: string): void {
  sendJson(res, status, { error: { code, message, ...(inner ? { innererror: { code: inner } } : {}) } }, headers);
}

export async function startKeyVaultServer(options: KeyVaultServerOptions): Promise<KeyVaultServer> {
  const tenantId = options.tenantId ?? '72f988bf-86f1-41af-91ab-2d7cd011db47';
  const secrets = new Map<string, SecretVersion[]>();
  let denied = false;
  const stats: KeyVaultStats = {
    requests: 0,
    challenges: 0,
    reads: 0,
    refused: 0,
    notFound: 0,
    writes: 0,
    reset() {
      Object.assign(stats, { requests: 0, challenges: 0, reads: 0, refused: 0, notFound: 0, writes: 0 });
    },
  };
  const challenge = { 'www-authenticate': `Bearer authorization="https://login.microsoftonline.com/${tenantId}", resource="${KEY_VAULT_RESOURCE}"` };
  let url = '';

  const secretBundle = (name: string, entry: SecretVersion) => ({
    value: entry.value,
    id: `${url}/secrets/${name}/${entry.version}`,
    ...(entry.options.contentType ? { contentType: entry.options.contentType } : {}),
    attributes: { enabled: true, created: entry.created, updated: entry.created, recoveryLevel: 'Recoverable+Purgeable', recoverableDays: 90 },
    tags: {},
    ...(entry.options.certificate ? { kid: `${url}/keys/${name}/${entry.version}`, managed: true } : {}),
  });

  /** `PUT /secrets/{name}` (Set Secret): a new version from `{ value, contentType? }`. */
  async function putSecret(req: IncomingMessage, res: ServerResponse, name: string): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    let body: { value?: unknown; contentType?: unknown };
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as typeof body;
    } catch {
      return keyVaultError(res, 400, 'BadParameter', 'The request body is not JSON.');
    }
    if (typeof body.value !== 'string') return keyVaultError(res, 400, 'BadParameter', 'value is required.');
    const entry: SecretVersion = {
      version: randomBytes(16).toString('hex'),
      value: body.value,
      options: typeof body.contentType === 'string' ? { contentType: body.contentType } : {},
      created: Math.floor(Date.now() / 1000),
    };
    secrets.set(name.toLowerCase(), [...(secrets.get(name.toLowerCase()) ?? []), entry]);
    stats.writes++;
    sendJson(res, 200, secretBundle(name, entry));
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    stats.requests++;
    const requestUrl = new URL(req.url ?? '/', url);
    const route = SECRET_ROUTE.exec(requestUrl.pathname);
    if (!requestUrl.searchParams.get('api-version')) return keyVaultError(res, 400, 'BadParameter', 'The api-version query parameter is missing.');
    const token = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
    if (!token) {
      stats.challenges++;
      return keyVaultError(res, 401, 'Unauthorized', 'AKV10000: Request is missing a Bearer or PoP token.', challenge);
    }
    if (!(await (options.authorize ?? (() => true))(token))) {
      stats.refused++;
      return keyVaultError(res, 401, 'Unauthorized', 'AKV10032: Invalid issuer or token.', challenge);
    }
    if (denied) {
      stats.refused++;
      return keyVaultError(res, 403, 'Forbidden', 'Caller is not authorized to perform action on resource.', {}, 'ForbiddenByRbac');
    }
    if (req.method === 'PUT' && route && !route[2]) return putSecret(req, res, route[1] as string);
    if (req.method !== 'GET' || !route) return keyVaultError(res, 405, 'BadParameter', 'Only secret reads and writes are served here.');
    const [, name, version] = route as unknown as [string, string, string | undefined];
    const versions = secrets.get(name.toLowerCase()) ?? [];
    const entry = version ? versions.find((v) => v.version === version) : versions.at(-1);
    if (!entry) {
      stats.notFound++;
      return keyVaultError(res, 404, 'SecretNotFound', `A secret with (name/id) ${name}${version ? `/${version}` : ''} was not found in this key vault.`);
    }
    stats.reads++;
    sendJson(res, 200, secretBundle(name, entry));
  }

  const sockets = new Set<Socket>();
  const server: Server = createServer({ cert: options.tls.certPem, key: options.tls.keyPem }, (req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) keyVaultError(res, 500, 'InternalServerError', 'The test vault failed.');
    });
  });
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  const listen = (port: number) => new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const stop = () => new Promise<void>((resolve) => {
    if (!server.listening) return resolve();
    server.close(() => resolve());
    for (const socket of sockets) socket.destroy();
  });

  await listen(0);
  const port = (server.address() as AddressInfo).port;
  url = `https://127.0.0.1:${port}`;

  return {
    url,
    stats,
    setSecret(name, value, secretOptions = {}) {
      const version = randomBytes(16).toString('hex');
      const list = secrets.get(name.toLowerCase()) ?? [];
      list.push({ version, value, options: secretOptions, created: Math.floor(Date.now() / 1000) });
      secrets.set(name.toLowerCase(), list);
      return version;
    },
    deleteSecret(name) {
      secrets.delete(name.toLowerCase());
    },
    secretVersions(name) {
      return (secrets.get(name.toLowerCase()) ?? []).map((v) => ({ value: v.value, ...(v.options.contentType ? { contentType: v.options.contentType } : {}) }));
    },
    denyAccess(on) {
      denied = on;
    },
    stop,
    start: () => (server.listening ? Promise.resolve() : listen(port)),
    close: stop,
  };
}

/** A TokenCredential that hands out one fixed token and counts how often it was asked. */
export function staticTokenCredential(token: string): TokenCredential & { calls: number; scopes: string[] } {
  const credential = {
    calls: 0,
    scopes: [] as string[],
    async getToken(scopes: string | string[]): Promise<AccessToken> {
      credential.calls++;
      credential.scopes.push(...[scopes].flat());
      return { token, expiresOnTimestamp: Date.now() + 60 * 60 * 1000, tokenType: 'Bearer' };
    },
  };
  return credential;
}
