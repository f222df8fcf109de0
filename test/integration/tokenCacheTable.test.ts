import { randomBytes } from 'node:crypto';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createServer, type Server } from 'node:net';
import type { AddressInfo } from 'node:net';
import type { TokenCredential } from '@azure/core-auth';
import { AzureNamedKeyCredential, TableClient, generateAccountSas } from '@azure/data-tables';
import { DEV_ACCOUNT_KEY, DEV_ACCOUNT_NAME, startAzuriteTable, type AzuriteTable } from '../../dev/azurite';
import { createDevCertificates, trustCertificateAuthority } from '../../dev/tls';
import { RowCipher } from '../../shared/tokenCache/rowCipher';
import { TokenCacheTable, createTableClient, fromEntity, readSasFor, toEntity, ROW_KEY, type TableCallCounts } from '../../shared/tokenCache/tableStore';
import { runWithDeadline } from '../../shared/deadline';
import { ProblemError } from '../../shared/problems';

/**
 * The token cache table against Azurite's Table service: conditional writes by ETag, the
 * sessions beside the cache, links, one-time markers, the refresh lease, the purge query, and
 * what a service that fails or never answers becomes. Nothing is mocked.
 */
let azurite: AzuriteTable;
const k1 = new Uint8Array(randomBytes(32));
const k2 = new Uint8Array(randomBytes(32));
let tableIndex = 0;

beforeAll(async () => {
  azurite = await startAzuriteTable();
});
afterAll(async () => {
  await azurite?.close();
});

/** A fresh table per test (not created yet: the store creates it on first need). */
function store(keys: Uint8Array[] = [k1], name = `cache${Date.now()}x${tableIndex++}`) {
  const counts: TableCallCounts = { reads: 0, writes: 0, deletes: 0, other: 0 };
  const connection = { kind: 'connectionString' as const, connectionString: azurite.connectionString, setting: 'TokenCache__ConnectionString' };
  const client = createTableClient(connection, name, () => {
    throw new Error('no credential for a connection string');
  }, counts);
  const raw = TableClient.fromConnectionString(azurite.connectionString, name, { allowInsecureConnection: true });
  return { table: new TokenCacheTable(client, new RowCipher(keys)), counts, raw, name };
}

const later = () => new Date(Date.now() + 3600_000);
const sessions = { s1: { providerSid: 'p', started: 1, lastSeen: 2 } };

test('a row: created when none was, read back with its sessions, then replaced only over the version read', async () => {
  const { table, counts, raw } = store();
  expect(await table.read('pk')).toBeUndefined();
  const created = await table.replaceRow('pk', '{"a":1}', sessions, later(), undefined);
  expect(created.kind).toBe('written');
  const row = await table.read('pk');
  expect(row).toMatchObject({ cache: '{"a":1}', etag: (created as { etag: string }).etag, sessions });
  expect(row).not.toHaveProperty('needsReseal');
  // Sealed at rest, never in clear.
  const entity = await raw.getEntity<Record<string, unknown>>('pk', ROW_KEY);
  expect(entity['Format']).toBe('A256GCM');
  expect(JSON.stringify(entity)).not.toContain('"a":1');

  expect(await table.replaceRow('pk', '{"a":2}', {}, later(), undefined)).toEqual({ kind: 'conflict' });
  expect(await table.replaceRow('pk', '{"a":2}', {}, later(), 'W/"datetime\'2000-01-01T00%3A00%3A00Z\'"')).toEqual({ kind: 'conflict' });
  const replaced = await table.replaceRow('pk', '{"a":3}', {}, later(), row!.etag);
  expect(replaced.kind).toBe('written');
  expect(await table.read('pk')).toMatchObject({ cache: '{"a":3}', sessions: {} });
  expect(await table.replaceRow('pk', '{"a":4}', sessions, later(), 'any')).toMatchObject({ kind: 'written' });
  expect((await table.read('pk'))!.cache).toBe('{"a":4}');
  expect(await table.replaceRow('gone', '{}', {}, later(), row!.etag)).toEqual({ kind: 'missing' });
  expect(counts.reads).toBe(4);
  expect(counts.writes).toBeGreaterThanOrEqual(6);
});

test('\'any\' creates the table and the row when neither exists', async () => {
  const { table } = store();
  expect(await table.replaceRow('pk', '{"z":1}', {}, later(), 'any')).toMatchObject({ kind: 'written' });
  expect((await table.read('pk'))!.cache).toBe('{"z":1}');
});

test('sessions are written alone over the version read, leaving the cache as it is', async () => {
  const { table, raw } = store();
  const created = (await table.replaceRow('pk', '{"c":1}', {}, later(), undefined)) as { etag: string };
  const expires = new Date(Date.now() + 7200_000);
  const written = await table.writeSessions('pk', sessions, expires, created.etag);
  expect(written.kind).toBe('written');
  expect(await table.read('pk')).toMatchObject({ cache: '{"c":1}', sessions });
  expect((await raw.getEntity<Record<string, unknown>>('pk', ROW_KEY))['ExpiresOn']).toEqual(expires);
  expect(await table.writeSessions('pk', {}, later(), created.etag)).toEqual({ kind: 'conflict' });
  expect(await table.writeSessions('none', {}, later(), created.etag)).toEqual({ kind: 'missing' });
});

test('a cache write merges over the version read: sessions and expiry stay; without a version it creates', async () => {
  const { table, raw } = store();
  const expires = new Date(Date.now() + 7200_000);
  const created = (await table.replaceRow('pk', '{"c":1}', sessions, expires, undefined)) as { etag: string };
  const written = await table.writeIfUnchanged('pk', '{"c":2}', new Date(0), created.etag);
  expect(written.kind).toBe('written');
  expect(await table.read('pk')).toMatchObject({ cache: '{"c":2}', sessions });
  expect((await raw.getEntity<Record<string, unknown>>('pk', ROW_KEY))['ExpiresOn']).toEqual(expires);
  expect(await table.writeIfUnchanged('pk', '{"c":3}', later(), created.etag)).toEqual({ kind: 'conflict' });
  expect(await table.writeIfUnchanged('pk', '{"c":3}', later(), undefined)).toEqual({ kind: 'conflict' });
  expect(await table.writeIfUnchanged('new', '{"n":1}', expires, undefined)).toMatchObject({ kind: 'written' });
  expect((await raw.getEntity<Record<string, unknown>>('new', ROW_KEY))['ExpiresOn']).toEqual(expires);
});

test('rows in clear or sealed with a retired key are read and flagged for sealing again; rows no key opens are not read', async () => {
  const { table, raw, name } = store([k1]);
  await table.replaceRow('sealed', '{"s":1}', {}, later(), undefined);
  await raw.createEntity(toEntity('clear', '{"c":1}', later()));
  expect(await table.read('sealed')).not.toHaveProperty('needsReseal');
  expect(await table.read('clear')).toMatchObject({ cache: '{"c":1}', needsReseal: true });

  const rotated = store([k2, k1], name).table;
  expect(await rotated.read('sealed')).toMatchObject({ cache: '{"s":1}', needsReseal: true });
  const other = store([k2], name).table;
  expect(await other.read('sealed')).toBeUndefined();
  await raw.createEntity({ ...toEntity('odd', '{}', later()), Format: 'rot13' });
  expect(await table.read('odd')).toBeUndefined();
  expect(fromEntity(await raw.getEntity('sealed', ROW_KEY))).toBeUndefined();
});

test('links find an account from a provider sid or sub; a link of another shape is none', async () => {
  const { table, raw } = store();
  expect(await table.readLink('sid', 'psid', 'https://idp')).toBeUndefined();
  await table.writeLink('sid', 'psid', 'https://idp', 'account-1', later());
  await table.writeLink('sub', 'user', 'https://idp', 'account-2', later());
  expect(await table.readLink('sid', 'psid', 'https://other')).toEqual({ account: 'account-1', issuer: 'https://idp' });
  expect(await table.readLink('sub', 'user', 'https://idp')).toEqual({ account: 'account-2', issuer: 'https://idp' });
  expect(await table.readLink('sub', 'user', 'https://other')).toBeUndefined();
  await table.writeLink('sid', 'psid', 'https://idp', 'account-3', later());
  expect((await table.readLink('sid', 'psid', 'https://idp'))!.account).toBe('account-3');
  const { linkPartitionKey, LINK_ROW_KEY } = await import('../../shared/tokenCache/tableStore');
  await raw.upsertEntity({ partitionKey: linkPartitionKey('sid', 'odd', ''), rowKey: LINK_ROW_KEY, Account: 5, Issuer: 'x' });
  expect(await table.readLink('sid', 'odd', '')).toBeUndefined();
  await raw.upsertEntity({ partitionKey: linkPartitionKey('sid', 'odd2', ''), rowKey: LINK_ROW_KEY, Account: 'a' });
  expect(await table.readLink('sid', 'odd2', '')).toBeUndefined();
});

test('a one-time marker is recorded once', async () => {
  const { table } = store();
  expect(await table.recordOnce('jti-1', later())).toBe(true);
  expect(await table.recordOnce('jti-1', later())).toBe(false);
  expect(await table.recordOnce('jti-2', later())).toBe(true);
});

test('the refresh lease: one holder at a time, released only by its holder\'s version, taken over once expired', async () => {
  const { table } = store();
  const lease = await table.tryTakeRefreshLease('pk', 60_000);
  expect(lease?.etag).toBeTruthy();
  expect(await table.tryTakeRefreshLease('pk', 60_000)).toBeUndefined();
  const held = await table.readRefreshLease('pk');
  expect(held!.etag).toBe(lease!.etag);
  expect(held!.expiresAt).toBeGreaterThan(Date.now() + 50_000);
  expect(held!.expiresAt).toBeLessThanOrEqual(Date.now() + 60_000);
  await table.releaseRefreshLease('pk', { etag: 'W/"datetime\'2000-01-01T00%3A00%3A00Z\'"' });
  expect(await table.readRefreshLease('pk')).toBeDefined();
  await table.releaseRefreshLease('pk', lease!);
  expect(await table.readRefreshLease('pk')).toBeUndefined();

  const expired = await table.tryTakeRefreshLease('pk2', -1000);
  expect(expired).toBeDefined();
  const taken = await table.tryTakeRefreshLease('pk2', 60_000);
  expect(taken).toBeDefined();
  expect(taken!.etag).not.toBe(expired!.etag);
  expect((await table.readRefreshLease('pk2'))!.expiresAt).toBeGreaterThan(Date.now());
  // A lease released between the failed insert and the read: the caller re-reads the row.
  expect(await table.readRefreshLease('nothing')).toBeUndefined();
});

test('deletes: only the version given, and a row already gone is no error', async () => {
  const { table } = store();
  const created = (await table.replaceRow('pk', '{}', {}, later(), undefined)) as { etag: string };
  await table.writeSessions('pk', sessions, later(), created.etag);
  expect(await table.delete('pk', created.etag)).toBe(false);
  expect(await table.read('pk')).toBeDefined();
  expect(await table.delete('pk')).toBe(true);
  expect(await table.read('pk')).toBeUndefined();
  expect(await table.delete('pk')).toBe(false);
});

test('expired rows are listed in pages with their keys and ETags; a table not made yet has none', async () => {
  const { table } = store();
  const pages = async () => {
    const out: { partitionKey: string; rowKey: string; etag: string }[][] = [];
    for await (const page of table.expiredPages(new Date(), 2)) out.push(page);
    return out;
  };
  expect(await pages()).toEqual([]);
  const past = new Date(Date.now() - 60_000);
  for (const pk of ['a', 'b', 'c']) await table.replaceRow(pk, '{}', {}, past, undefined);
  await table.replaceRow('live', '{}', {}, later(), undefined);
  await table.writeLink('sid', 'old', 'iss', 'a', past);
  const found = await pages();
  expect(found.map((p) => p.length).reduce((a, b) => a + b, 0)).toBe(4);
  expect(Math.max(...found.map((p) => p.length))).toBeLessThanOrEqual(2);
  const flat = found.flat();
  expect(flat.map((r) => r.partitionKey)).not.toContain('live');
  expect(flat.find((r) => r.partitionKey === 'a')).toEqual({ partitionKey: 'a', rowKey: ROW_KEY, etag: expect.stringMatching(/./) });
});

test('a cache larger than one property is stored in several and read back whole; keys with quotes are addressed as the SDK does', async () => {
  const { table, raw } = store();
  // Random text does not compress: well over one 32K-character property once sealed.
  const cache = JSON.stringify({ big: randomBytes(60_000).toString('base64') });
  const created = await table.replaceRow("it's", cache, sessions, later(), undefined);
  expect(created.kind).toBe('written');
  const entity = await raw.getEntity<Record<string, unknown>>("it's", ROW_KEY);
  expect(entity['Chunks']).toBeGreaterThanOrEqual(3);
  expect(typeof entity['Cache2']).toBe('string');
  expect(await table.read("it's")).toEqual({ cache, etag: (created as { etag: string }).etag, sessions, memo: {} });
  expect(await table.read("it''s")).toBeUndefined();
});

test('a connection string with a SAS: the point read and the writes carry it', async () => {
  const sas = generateAccountSas(new AzureNamedKeyCredential(DEV_ACCOUNT_NAME, DEV_ACCOUNT_KEY), { expiresOn: later(), permissions: { query: true, add: true, update: true, delete: true, write: true, list: true }, resourceTypes: 'sco' });
  const connectionString = `TableEndpoint=${azurite.tableEndpoint};SharedAccessSignature=${sas}`;
  const counts: TableCallCounts = { reads: 0, writes: 0, deletes: 0, other: 0 };
  const client = createTableClient({ kind: 'connectionString', connectionString, setting: 'TokenCache__ConnectionString' }, `sas${Date.now()}`, () => {
    throw new Error('no credential for a connection string');
  }, counts);
  const table = new TokenCacheTable(client, new RowCipher([k1]));
  expect(await table.read('pk')).toBeUndefined();
  const created = (await table.replaceRow('pk', '{"sas":1}', sessions, later(), undefined)) as { etag: string };
  expect(await table.read('pk')).toMatchObject({ cache: '{"sas":1}', etag: created.etag, sessions });
  expect(counts.reads).toBe(2);
});

test('a connection string with an account key: the point read is signed with a read-only SAS of the table, renewed before it expires', async () => {
  const { table: writer, name, counts } = store();
  const created = (await writer.replaceRow('pk', '{"signed":1}', sessions, later(), undefined)) as { etag: string };
  const connection = { kind: 'connectionString' as const, connectionString: azurite.connectionString, setting: 'TokenCache__ConnectionString' };
  let clock = Date.now();
  const issued: string[] = [];
  const sasOf = readSasFor(connection, name, () => clock)!;
  const readSas = () => {
    const sas = sasOf();
    if (issued.at(-1) !== sas) issued.push(sas);
    return sas;
  };
  const client = createTableClient(connection, name, () => {
    throw new Error('no credential for a connection string');
  }, counts);
  const reader = new TokenCacheTable(client, new RowCipher([k1]), readSas);
  expect(await reader.read('pk')).toMatchObject({ cache: '{"signed":1}', etag: created.etag });
  expect(new URLSearchParams(issued[0]).get('sp')).toBe('r');
  // 45 minutes on, a quarter of an hour before it would expire: a new one, which Azurite accepts too.
  clock += 45 * 60_000 - 1;
  expect(await reader.read('pk')).toMatchObject({ etag: created.etag });
  expect(issued).toHaveLength(1);
  clock += 1;
  expect(await reader.read('pk')).toMatchObject({ etag: created.etag });
  expect(issued).toHaveLength(2);
  // The SAS is what signs it: one made with another key is refused (the shared-key policy is not there to sign instead).
  const wrong = readSasFor({ ...connection, connectionString: azurite.connectionString.replace(/AccountKey=[^;]+/, `AccountKey=${Buffer.alloc(64, 1).toString('base64')}`) }, name)!;
  const refused = new TokenCacheTable(client, new RowCipher([k1]), wrong);
  await expect(refused.read('pk')).rejects.toMatchObject({ status: 503, code: 'token_cache_unavailable' });
});

test('no read SAS without an account key: Entra ID, a SAS connection string, or no key in it', () => {
  expect(readSasFor({ kind: 'identity', tableServiceUri: 'https://a.table.core.windows.net', setting: 'TokenCache__ServiceUri' }, 'T')).toBeUndefined();
  expect(readSasFor({ kind: 'connectionString', connectionString: 'TableEndpoint=https://a.table.core.windows.net;SharedAccessSignature=sv=x&sig=y', setting: 'S' }, 'T')).toBeUndefined();
  expect(readSasFor({ kind: 'connectionString', connectionString: 'UseDevelopmentStorage=true', setting: 'S' }, 'T')).toBeUndefined();
  expect(readSasFor({ kind: 'connectionString', connectionString: 'AccountName=a;TableEndpoint=https://a.table.core.windows.net', setting: 'S' }, 'T')).toBeUndefined();
});

/** A Table endpoint on loopback that answers as `answer` says, recording the requests. */
async function fakeTable(answer: (req: IncomingMessage, res: ServerResponse) => void, https?: { certPem: string; keyPem: string }) {
  const seen: IncomingMessage[] = [];
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    seen.push(req);
    answer(req, res);
  };
  const server = https ? createHttpsServer({ cert: https.certPem, key: https.keyPem }, handler) : createHttpServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { seen, port: (server.address() as AddressInfo).port, close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }) };
}

test('an Entra token credential (managed identity in Azure): the point read carries its bearer token', async () => {
  const certificates = createDevCertificates();
  trustCertificateAuthority(certificates.caCertPem);
  const sealed = new RowCipher([k1]);
  const entity = { ...toEntity('pk', '{"mi":1}', later(), sealed), PartitionKey: 'pk', RowKey: ROW_KEY, Sessions: '{}' };
  const server = await fakeTable((req, res) => {
    if (req.headers.authorization !== 'Bearer table-token') return void res.writeHead(403).end();
    res.writeHead(200, { 'content-type': 'application/json;odata=nometadata', etag: 'W/"datetime\'2026-01-01T00%3A00%3A00Z\'"' }).end(JSON.stringify(entity));
  }, certificates);
  const scopes: (string | string[])[] = [];
  const credential: TokenCredential = {
    getToken: async (scope) => {
      scopes.push(scope);
      return { token: 'table-token', expiresOnTimestamp: Date.now() + 3600_000 };
    },
  };
  try {
    const counts: TableCallCounts = { reads: 0, writes: 0, deletes: 0, other: 0 };
    const client = createTableClient({ kind: 'identity', tableServiceUri: `https://127.0.0.1:${server.port}/account`, setting: 'TokenCache__ServiceUri' }, 'cache', () => credential, counts);
    const table = new TokenCacheTable(client, sealed);
    expect(await table.read('pk')).toMatchObject({ cache: '{"mi":1}', etag: 'W/"datetime\'2026-01-01T00%3A00%3A00Z\'"' });
    expect(server.seen.map((r) => r.url)).toEqual(["/account/cache(PartitionKey='pk',RowKey='msal')"]);
    expect(scopes.flat()).toEqual(['https://storage.azure.com/.default']);
    expect(counts.reads).toBe(1);
  } finally {
    await server.close();
  }
});

test('answers that are no entity: 503 token_cache_unavailable, never an empty row', async () => {
  const answers: [number, Record<string, string>, string][] = [
    [200, { 'content-type': 'application/json', etag: 'W/"x"' }, '{"Chunks":'],
    [200, { 'content-type': 'application/json', etag: 'W/"x"' }, '[1]'],
    [200, { 'content-type': 'application/json' }, '{"Chunks":0}'],
    [403, { 'content-type': 'application/json' }, '{"odata.error":{"code":"AuthenticationFailed"}}'],
    [500, { 'content-type': 'text/plain' }, 'oops'],
  ];
  let next = 0;
  const server = await fakeTable((_req, res) => {
    const [status, headers, body] = answers[Math.min(next, answers.length - 1)]!;
    res.writeHead(status, headers).end(body);
  });
  try {
    const counts: TableCallCounts = { reads: 0, writes: 0, deletes: 0, other: 0 };
    const connectionString = azurite.connectionString.replace(/127\.0\.0\.1:\d+/, `127.0.0.1:${server.port}`);
    const table = new TokenCacheTable(createTableClient({ kind: 'connectionString', connectionString, setting: 'TokenCache__ConnectionString' }, 'cache', () => {
      throw new Error('unused');
    }, counts), new RowCipher([k1]));
    for (next = 0; next < answers.length; next++) {
      await expect(table.read('pk')).rejects.toMatchObject({ status: 503, code: 'token_cache_unavailable' });
    }
    // Signed with the account's key (SharedKey), as every call of the client is.
    expect(server.seen[0]!.headers.authorization).toMatch(new RegExp(`^SharedKey(Lite)? ${DEV_ACCOUNT_NAME}:`));
  } finally {
    await server.close();
  }
});

describe('a Table service that fails', () => {
  let blackHole: Server;
  let blackHolePort: number;
  const sockets = new Set<import('node:net').Socket>();
  beforeAll(async () => {
    // Accepts, never answers.
    blackHole = createServer((socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    });
    await new Promise<void>((resolve) => blackHole.listen(0, '127.0.0.1', resolve));
    blackHolePort = (blackHole.address() as AddressInfo).port;
  });
  afterAll(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => blackHole.close(resolve));
  });

  function storeAt(port: number) {
    const counts: TableCallCounts = { reads: 0, writes: 0, deletes: 0, other: 0 };
    const connectionString = azurite.connectionString.replace(/127\.0\.0\.1:\d+/, `127.0.0.1:${port}`);
    const client = createTableClient({ kind: 'connectionString', connectionString, setting: 'TokenCache__ConnectionString' }, 'cache', () => {
      throw new Error('unused');
    }, counts);
    return new TokenCacheTable(client, new RowCipher([k1]));
  }

  test('nothing listening: 503 token_cache_unavailable for reads and writes', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const table = storeAt(port);
    for (const call of [() => table.read('pk'), () => table.replaceRow('pk', '{}', {}, later(), undefined), () => table.readLink('sid', 'x', 'y'), () => table.delete('pk'), () => table.readRefreshLease('pk')]) {
      const failure = await call().catch((e: unknown) => e);
      expect(failure).toBeInstanceOf(ProblemError);
      expect(failure).toMatchObject({ status: 503, code: 'token_cache_unavailable' });
    }
  });

  test('a service that never answers ends with the request\'s deadline', async () => {
    const table = storeAt(blackHolePort);
    const failure = await runWithDeadline(300, () => table.read('pk')).catch((e: unknown) => e);
    expect(failure).toMatchObject({ status: 503, code: 'request_deadline_exceeded' });
    const write = await runWithDeadline(300, () => table.writeSessions('pk', {}, later(), '*')).catch((e: unknown) => e);
    expect(write).toMatchObject({ status: 503, code: 'request_deadline_exceeded' });
  });
});

describe('what a read costs and what it shares', () => {
  test('a version of a row read again is the same opened row (its memo shared); a new version is opened afresh', async () => {
    const { table } = store();
    const created = (await table.replaceRow('pk', '{"v":1}', {}, later(), undefined)) as { etag: string };
    const first = (await table.read('pk'))!;
    const second = (await table.read('pk'))!;
    expect(second.memo).toBe(first.memo);
    expect(second.etag).toBe(created.etag);
    await table.writeIfUnchanged('pk', '{"v":2}', later(), created.etag);
    const third = (await table.read('pk'))!;
    expect(third.cache).toBe('{"v":2}');
    expect(third.memo).not.toBe(first.memo);
    // Another table (another instance) opens its own.
    const other = store([k1], 'x').table;
    expect(other).not.toBe(table);
  });

  test('each call is counted by what it does: reads, writes, deletes', async () => {
    const { table, counts } = store();
    // Insert, table creation, insert again.
    await table.replaceRow('pk', '{}', {}, later(), undefined);
    expect(counts).toEqual({ reads: 0, writes: 3, deletes: 0, other: 0 });
    await table.read('pk');
    await table.readLink('sid', 'x', 'i');
    expect(counts).toEqual({ reads: 2, writes: 3, deletes: 0, other: 0 });
    const row = (await table.read('pk'))!;
    await table.writeSessions('pk', sessions, later(), row.etag);
    await table.writeLink('sub', 'u', 'i', 'a', later());
    expect(counts).toEqual({ reads: 3, writes: 5, deletes: 0, other: 0 });
    await table.delete('pk');
    await table.delete('pk');
    expect(counts).toEqual({ reads: 3, writes: 5, deletes: 2, other: 0 });
  });

  test('the table is made once: one removed afterwards is not made again behind the operator\'s back (503)', async () => {
    const { table, raw } = store();
    expect(await table.recordOnce('jti', later())).toBe(true);
    await raw.deleteTable();
    const failure = await table.writeLink('sid', 's', 'i', 'a', later()).catch((e: unknown) => e);
    expect(failure).toMatchObject({ status: 503, code: 'token_cache_unavailable' });
    // A read of a row in a table that is not there is no row.
    expect(await table.read('pk')).toBeUndefined();
  });
});

describe('lease rows written by hand or by another version', () => {
  test('an expiry stored as text is read as a time; no expiry at all is an expired lease, taken over', async () => {
    const { table, raw } = store();
    await table.recordOnce('make-table', later());
    const until = new Date(Date.now() + 60_000);
    await raw.createEntity({ partitionKey: 'text', rowKey: 'refresh-lease', ExpiresOn: until.toISOString() });
    expect((await table.readRefreshLease('text'))!.expiresAt).toBe(until.getTime());
    expect(await table.tryTakeRefreshLease('text', 60_000)).toBeUndefined();
    await raw.createEntity({ partitionKey: 'none', rowKey: 'refresh-lease' });
    expect((await table.readRefreshLease('none'))!.expiresAt).toBe(0);
    expect(await table.tryTakeRefreshLease('none', 60_000)).toBeDefined();
    await raw.createEntity({ partitionKey: 'number', rowKey: 'refresh-lease', ExpiresOn: Date.now() + 60_000 });
    expect((await table.readRefreshLease('number'))!.expiresAt).toBe(0);
  });
});

describe('a Table service that is not there, for the other calls', () => {
  async function closedPort(): Promise<number> {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    return port;
  }

  test('the purge query, link and lease writes, one-time markers: 503 token_cache_unavailable', async () => {
    const port = await closedPort();
    const connectionString = azurite.connectionString.replace(/127\.0\.0\.1:\d+/, `127.0.0.1:${port}`);
    const counts: TableCallCounts = { reads: 0, writes: 0, deletes: 0, other: 0 };
    const client = createTableClient({ kind: 'connectionString', connectionString, setting: 'TokenCache__ConnectionString' }, 'cache', () => {
      throw new Error('unused');
    }, counts);
    const table = new TokenCacheTable(client, new RowCipher([k1]));
    const pages = async () => {
      for await (const page of table.expiredPages(new Date(), 10)) void page;
    };
    for (const call of [pages, () => table.writeLink('sid', 's', 'i', 'a', later()), () => table.recordOnce('j', later()), () => table.tryTakeRefreshLease('pk', 1000), () => table.writeIfUnchanged('pk', '{}', later(), '*')]) {
      const failure = await call().catch((e: unknown) => e);
      expect(failure).toBeInstanceOf(ProblemError);
      expect(failure).toMatchObject({ status: 503, code: 'token_cache_unavailable' });
    }
  });
});

describe('a Table service reached through Entra ID (managed identity)', () => {
  test('the credential is the configured client id\'s; a refused call is 503 token_cache_unavailable', async () => {
    const asked: (string | undefined)[] = [];
    const credential = (clientId?: string) => {
      asked.push(clientId);
      return { getToken: async () => ({ token: 'not-checked-by-azurite', expiresOnTimestamp: Date.now() + 3600_000 }) };
    };
    const counts: TableCallCounts = { reads: 0, writes: 0, deletes: 0, other: 0 };
    const client = createTableClient({ kind: 'identity', tableServiceUri: azurite.tableEndpoint, managedIdentityClientId: 'mi-client', setting: 'TokenCache__TableServiceUri' }, `mi${Date.now()}`, credential, counts);
    const table = new TokenCacheTable(client, new RowCipher([k1]));
    expect(asked).toEqual(['mi-client']);
    // Azurite (no Entra ID behind it) refuses the token.
    await expect(table.read('pk')).rejects.toMatchObject({ status: 503, code: 'token_cache_unavailable' });
    expect(counts.reads).toBe(1);
  });
});
