import { createHash } from 'node:crypto';
import { AzureNamedKeyCredential, RestError, TableClient, generateTableSas, odata, type TableEntity } from '@azure/data-tables';
import { createDefaultHttpClient, createEmptyPipeline, createHttpHeaders, createPipelineRequest, type HttpClient, type Pipeline } from '@azure/core-rest-pipeline';
import type { TokenCredential } from '@azure/core-auth';
import { connectionStringParts, type TableConnection } from '../config';
import { parseSessions, serializeSessions, type SessionMap } from '../session/lifetimes';
import { ProblemError, problems } from '../problems';
import { RecentMap, remembered } from '../recentMap';
import { TABLE_TIMEOUT_MS, deadlineProblem, outboundSignal } from '../deadline';
import { ROW_FORMAT, type RowCipher } from './rowCipher';

/**
 * One row per account in Table Storage holding the account's serialized MSAL cache.
 * The cache is split across 32K-character string properties (Table limits: 64 KiB per
 * property, 1 MiB per entity, measured in UTF-8 by the service: the guard below is ours).
 */
export const ROW_KEY = 'msal';
const CHUNK_CHARS = 32 * 1024;
const MAX_CHUNKS = 30;
const MAX_ENTITY_UTF8_BYTES = 960 * 1024;

/** What was worked out from one version of a row (same ETag): the parsed cache and the token picked per query (shared/tokenCache/cachedAccessToken.ts). */
export interface RowMemo {
  parsed?: unknown;
  picks?: Map<string, unknown>;
}

export interface CacheRow {
  readonly cache: string;
  readonly etag: string;
  /** The account's server-side sessions (shared/session/lifetimes.ts). */
  readonly sessions: SessionMap;
  /** Written in clear or with a retired key: re-sealed with the first key at once. */
  readonly needsReseal?: boolean;
  /**
   * Shared by every read of this version of the row (same ETag) in this process: what was worked
   * out from its cache once (shared/tokenCache/cachedAccessToken.ts) is not worked out again.
   */
  readonly memo?: RowMemo;
}

/** Opened rows kept per process, by partition key, with the ETag they were read at. */
const MAX_OPENED_ROWS = 1_000;

/** Rows that find an account from a provider's `sid` or `sub` (front- and back-channel logout). */
export type LinkKind = 'sid' | 'sub';
export const LINK_ROW_KEY = 'link';
/** Beside the account's row: which instance is refreshing its tokens now (a short lease). */
export const REFRESH_LEASE_ROW_KEY = 'refresh-lease';

/** A refresh lease as taken: its ETag releases it (only if still ours). */
export interface RefreshLease {
  readonly etag: string;
}
/** Rows that remember a logout token's `jti` until it expires. */
export const ONCE_ROW_KEY = 'once';

export interface LinkRow {
  readonly account: string;
  readonly issuer: string;
}

export interface TableCallCounts {
  reads: number;
  writes: number;
  deletes: number;
  other: number;
}

/** The outcome of a conditional write: written, someone else wrote first, or the row is gone. */
export type WriteResult = { readonly kind: 'written'; readonly etag: string } | { readonly kind: 'conflict' } | { readonly kind: 'missing' };

/** Home account ids hold '.' and tenant ids of any length: a hash is always a valid key. Every proxied call asks, for the same few accounts. */
export const partitionKeyFor = remembered((homeAccountId) => createHash('sha256').update(homeAccountId, 'utf8').digest('base64url'), 10_000);

/** A sid link is keyed by the sid alone: Entra's front-channel call carries no issuer. */
export function linkPartitionKey(kind: LinkKind, value: string, issuer: string): string {
  const name = kind === 'sid' ? `sid\n${value}` : `sub\n${issuer}\n${value}`;
  return `${kind}-${createHash('sha256').update(name, 'utf8').digest('base64url')}`;
}

export function storageUnavailable(): ProblemError {
  return problems.token_cache_unavailable();
}

/** One retry, soon: a caller is waiting, and the whole call stays within a few seconds. */
const TABLE_RETRY = { maxRetries: 1, retryDelayInMs: 200, maxRetryDelayInMs: 1000 };
/** Both attempts and the pause between them. */
const TABLE_CALL_MS = TABLE_TIMEOUT_MS * (TABLE_RETRY.maxRetries + 1) + TABLE_RETRY.maxRetryDelayInMs;

/** A Table failure as the caller sees it: the request's deadline (503), a timeout (504), or the service unavailable (503). */
function tableFailure(error: unknown): ProblemError {
  if (error instanceof ProblemError) return error;
  const deadline = deadlineProblem();
  if (deadline) return deadline;
  if (error instanceof Error && (error.name === 'AbortError' || error.name === 'TimeoutError')) return problems.token_cache_timeout();
  return storageUnavailable();
}

function isStatus(error: unknown, status: number): boolean {
  return error instanceof RestError && error.statusCode === status;
}

function isTableNotFound(error: unknown): boolean {
  return error instanceof RestError && error.statusCode === 404 && /TableNotFound/i.test(String(error.code ?? error.message));
}

/**
 * The row's entity: the cache sealed with `cipher` (rows are never written in clear by the
 * app; without a cipher only tests write them), split into 32K-character properties, its size
 * checked before any write.
 */
export function toEntity(partitionKey: string, cache: string, expiresOn: Date, cipher?: RowCipher): TableEntity<Record<string, unknown>> {
  const stored = cipher ? cipher.seal(partitionKey, ROW_KEY, cache) : cache;
  const chunks: string[] = [];
  for (let i = 0; i < stored.length; i += CHUNK_CHARS) chunks.push(stored.slice(i, i + CHUNK_CHARS));
  const bytes = Buffer.byteLength(stored, 'utf8');
  if (chunks.length > MAX_CHUNKS || bytes > MAX_ENTITY_UTF8_BYTES) {
    throw problems.token_cache_too_large();
  }
  const entity: TableEntity<Record<string, unknown>> = { partitionKey, rowKey: ROW_KEY, Chunks: chunks.length, ExpiresOn: expiresOn, Version: 1, Format: cipher ? ROW_FORMAT : 'clear' };
  chunks.forEach((chunk, i) => (entity[`Cache${i}`] = chunk));
  return entity;
}

/** The chunks joined as stored: sealed text, or the clear JSON of a row written before encryption. */
function storedCache(entity: Record<string, unknown>): string | undefined {
  const count = entity['Chunks'];
  if (typeof count !== 'number' || count < 0 || count > MAX_CHUNKS) return undefined;
  let cache = '';
  for (let i = 0; i < count; i++) {
    const chunk = entity[`Cache${i}`];
    if (typeof chunk !== 'string') return undefined;
    cache += chunk;
  }
  return cache;
}

/** The cache in clear, or undefined when it does not decode or no key of `cipher` opens it for this row. */
export function fromEntity(entity: Record<string, unknown>, cipher?: RowCipher): string | undefined {
  const stored = storedCache(entity);
  if (stored === undefined) return undefined;
  if (entity['Format'] === ROW_FORMAT) {
    return cipher && typeof entity['partitionKey'] === 'string' ? cipher.open(entity['partitionKey'], ROW_KEY, stored) : undefined;
  }
  return entity['Format'] === undefined || entity['Format'] === 'clear' ? stored : undefined;
}

/** True when the row should be sealed again: written in clear (before encryption) or with a key that no longer seals. */
function needsReseal(entity: Record<string, unknown>, cipher: RowCipher): boolean {
  if (entity['Format'] !== ROW_FORMAT) return true;
  const stored = entity['Cache0'];
  return typeof stored === 'string' && cipher.sealedWithOldKey(stored);
}

/** The headers of a point read; `nometadata`: the properties as JSON values, without OData type annotations. */
const POINT_READ_HEADERS = { accept: 'application/json;odata=nometadata', 'x-ms-version': '2019-02-02', dataserviceversion: '3.0' } as const;

/** Doubled single quotes, then URL-encoded, as the SDK writes a key into an entity's address. */
function keyInUrl(key: string): string {
  return encodeURIComponent(key.replaceAll("'", "''"));
}

export function createTableClient(connection: TableConnection, tableName: string, credentialFor: (clientId?: string) => TokenCredential, counts: TableCallCounts): TableClient {
  const countingPolicy = {
    name: 'countTableCalls',
    sendRequest: async (request: { method: string }, next: (r: never) => Promise<unknown>) => {
      if (request.method === 'GET') counts.reads++;
      else if (request.method === 'DELETE') counts.deletes++;
      // POST is an insert (createEntity) or a table creation.
      else if (request.method === 'PUT' || request.method === 'MERGE' || request.method === 'PATCH' || request.method === 'POST') counts.writes++;
      else counts.other++;
      return next(request as never);
    },
  };
  // Each attempt has a timeout, and the whole call (retry included) ends by the request's deadline:
  // a Table endpoint that accepts and never answers cannot hold a request.
  const timeoutPolicy = {
    name: 'tableTimeouts',
    sendRequest: (request: { timeout: number; abortSignal?: AbortSignal }, next: (r: never) => Promise<unknown>) => {
      if (!request.timeout) request.timeout = TABLE_TIMEOUT_MS;
      const call = outboundSignal(TABLE_CALL_MS);
      request.abortSignal = request.abortSignal ? AbortSignal.any([request.abortSignal, call]) : call;
      return next(request as never);
    },
  };
  const options = {
    retryOptions: TABLE_RETRY,
    additionalPolicies: [
      { policy: countingPolicy as never, position: 'perCall' as const },
      { policy: timeoutPolicy as never, position: 'perCall' as const },
    ],
  };
  if (connection.kind === 'connectionString') {
    const insecure = /DefaultEndpointsProtocol=http;|TableEndpoint=http:\/\/|UseDevelopmentStorage=true/i.test(connection.connectionString);
    return TableClient.fromConnectionString(connection.connectionString, tableName, { ...options, allowInsecureConnection: insecure });
  }
  return new TableClient(connection.tableServiceUri, tableName, credentialFor(connection.managedIdentityClientId), {
    ...options,
    allowInsecureConnection: connection.tableServiceUri.startsWith('http:'),
  });
}

/**
 * Policies of the Table client's pipeline that a point read does without. Its answer is one JSON
 * entity this file parses (no operation to serialize or deserialize, no form, multipart, redirect
 * or compression), the app's dependency observer times it (the Azure SDK instrumentation is off,
 * shared/telemetry), and the SDK's own request logging is for its diagnostics only. They were
 * about a quarter of the pipeline's CPU per request (10 of 45 µs in a loop with no network; a
 * shared-key signature most of the rest: `readSasFor`). Every other policy stays, in the client's
 * order: the proxy, user agent, request id, our counting and timeouts, the credential (shared
 * key, SAS or Entra token: whichever the connection uses) and the retry.
 */
const NOT_FOR_POINT_READS = new Set(['serializationPolicy', 'decompressResponsePolicy', 'wrapAbortSignalLikePolicy', 'formDataPolicy', 'deserializationPolicy', 'multipartPolicy', 'tracingPolicy', 'redirectPolicy', 'logPolicy']);

/** The shared-key signature, which a read with a SAS in its URL does without. */
const SHARED_KEY_POLICY = 'tablesNamedKeyCredentialPolicy';

function pointReadPipeline(pipeline: Pipeline, signedBySas: boolean): Pipeline {
  const lean = createEmptyPipeline();
  // Without a phase each policy runs in the order added, which is the client's order.
  for (const policy of pipeline.getOrderedPolicies()) {
    if (NOT_FOR_POINT_READS.has(policy.name) || (signedBySas && policy.name === SHARED_KEY_POLICY)) continue;
    lean.addPolicy(policy);
  }
  return lean;
}

const READ_SAS_LIFETIME_MS = 60 * 60_000;
/** Renewed this long before it expires: a clock a few minutes apart from the service's still accepts it. */
const READ_SAS_RENEWAL_MS = 15 * 60_000;

/**
 * For a connection string with an account key: a read-only SAS for the table (the SDK's
 * `generateTableSas`), made again a quarter of an hour before it expires. A shared-key signature
 * imports the key and computes an HMAC at every request: most of a point read's policy CPU. It
 * stays in memory like the key itself. Undefined for any other connection (Entra ID: the bearer
 * policy reuses its token; a SAS connection string: its SAS is in the URL already).
 */
export function readSasFor(connection: TableConnection, tableName: string, now: () => number = Date.now): (() => string) | undefined {
  if (connection.kind !== 'connectionString') return undefined;
  const parts = connectionStringParts(connection.connectionString);
  const accountName = parts.get('accountname');
  const accountKey = parts.get('accountkey');
  if (!accountName || !accountKey) return undefined;
  const key = new AzureNamedKeyCredential(accountName, accountKey);
  let sas = '';
  let renewAt = 0;
  return () => {
    const at = now();
    if (at >= renewAt) {
      sas = generateTableSas(tableName, key, { permissions: { query: true }, expiresOn: new Date(at + READ_SAS_LIFETIME_MS) });
      renewAt = at + READ_SAS_LIFETIME_MS - READ_SAS_RENEWAL_MS;
    }
    return sas;
  };
}

/** A point read's answer: the entity, unless its version is the one opened before. */
interface PointReadAnswer {
  readonly etag: string;
  readonly entity?: Record<string, unknown> & { etag: string };
}

/** The entity of a point read's answer; anything but a JSON object is the service failing. */
function entityOf(bodyAsText: string | null | undefined, etag: string, status: number): Record<string, unknown> & { etag: string } {
  let body: unknown;
  try {
    body = JSON.parse(bodyAsText ?? '');
  } catch {
    body = undefined;
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new RestError('Table point read answered no entity', { statusCode: status });
  const properties = body as Record<string, unknown>;
  return { ...properties, partitionKey: properties['PartitionKey'], rowKey: properties['RowKey'], etag };
}

/** A row as read, kept per ETag: everything in it is fixed for that version. */
type OpenedRow = CacheRow & { readonly etag: string; readonly memo: RowMemo };

/** Table access for the token cache; every failure of the service becomes a 503 problem. */
export class TokenCacheTable {
  private tableEnsured = false;
  /**
   * The last opened version of recently read rows. Every read still goes to the table; only when
   * it answers with the ETag seen before (the service changes it at every write) is the cache
   * not decrypted, inflated and parsed again (nor its sessions). Bounded: the least recently read go first.
   */
  private readonly opened = new RecentMap<string, OpenedRow>(MAX_OPENED_ROWS);

  /** The table's address as the client was given it: the entity's key goes between path and query (a SAS). */
  private readonly tableUrl: { readonly prefix: string; readonly query: string; readonly insecure: boolean };
  /** The point read's HTTP client (Node's http with keep-alive, as the SDK's own default). */
  private readonly httpClient: HttpClient = createDefaultHttpClient();
  /** The point read's pipeline: the client's own policies less those a GET whose answer is parsed here has no use for. */
  private readonly readPipeline: Pipeline;

  /**
   * @param readSas For a connection string with an account key (`readSasFor`): the point read is
   * signed with this read-only SAS in its URL instead of a shared-key signature per request.
   */
  constructor(
    private readonly client: TableClient,
    readonly cipher: RowCipher,
    private readonly readSas?: () => string,
  ) {
    const url = new URL(client.url);
    // An http: endpoint (Azurite) works only with a client made with allowInsecureConnection.
    this.tableUrl = { prefix: `${url.origin}${url.pathname.replace(/\/+$/, '')}/${encodeURIComponent(client.tableName)}`, query: url.search, insecure: url.protocol === 'http:' };
    this.readPipeline = pointReadPipeline(client.pipeline, readSas !== undefined);
  }

  async read(partitionKey: string): Promise<CacheRow | undefined> {
    const known = this.opened.get(partitionKey);
    let answer: PointReadAnswer | undefined;
    try {
      answer = await this.pointRead(partitionKey, ROW_KEY, known?.etag);
    } catch (error) {
      throw tableFailure(error);
    }
    if (!answer) {
      this.opened.delete(partitionKey);
      return undefined;
    }
    if (!answer.entity) {
      this.opened.set(partitionKey, known!);
      return known;
    }
    return this.open(partitionKey, answer.entity);
  }

  /**
   * A point read without the SDK's operation layer, which costs about as much CPU again as the
   * request itself (the operation's serialization and `@azure/core-client`'s typed entity
   * deserialization): a plain GET sent through the client's own policies (`pointReadPipeline`),
   * so its credential policy (shared key, SAS or Entra token, whichever the connection uses), its
   * retry and our counting and timeout policies apply as to every other call. Undefined when
   * there is no such row (or table); any other answer than 200 with an ETag and a JSON object is
   * the service failing. The version opened before (`knownEtag`: the service changes the ETag at
   * every write) comes back without its entity: its body is not even parsed.
   */
  private async pointRead(partitionKey: string, rowKey: string, knownEtag: string | undefined): Promise<PointReadAnswer | undefined> {
    const query = this.readSas ? `?${this.readSas()}` : this.tableUrl.query;
    const url = `${this.tableUrl.prefix}(PartitionKey='${keyInUrl(partitionKey)}',RowKey='${keyInUrl(rowKey)}')${query}`;
    const request = createPipelineRequest({ url, method: 'GET', headers: createHttpHeaders(POINT_READ_HEADERS), allowInsecureConnection: this.tableUrl.insecure });
    const response = await this.readPipeline.sendRequest(this.httpClient, request);
    if (response.status === 404) return undefined;
    const etag = response.headers.get('etag');
    if (response.status !== 200 || !etag) throw new RestError(`Table point read answered ${response.status}`, { statusCode: response.status });
    if (etag === knownEtag) return { etag };
    return { etag, entity: entityOf(response.bodyAsText, etag, response.status) };
  }

  private open(partitionKey: string, entity: Record<string, unknown> & { etag: string }): OpenedRow | undefined {
    this.opened.delete(partitionKey);
    const cache = fromEntity(entity, this.cipher);
    if (cache === undefined) return undefined;
    const opened: OpenedRow = { cache, etag: entity.etag, sessions: parseSessions(entity['Sessions']), memo: {}, ...(needsReseal(entity, this.cipher) ? { needsReseal: true } : {}) };
    this.opened.set(partitionKey, opened);
    return opened;
  }

  /**
   * The whole row (a sign-in's fresh cache, a re-sealed one) with the account's sessions: over
   * the version that was read (If-Match), as a new row when none was, or over whatever is there
   * (`'any'`: a row that could not be read).
   */
  async replaceRow(partitionKey: string, cache: string, sessions: SessionMap, expiresOn: Date, etag: string | undefined | 'any'): Promise<WriteResult> {
    const entity = { ...toEntity(partitionKey, cache, expiresOn, this.cipher), Sessions: serializeSessions(sessions) };
    if (etag === 'any') return this.conditional(() => this.withTable(() => this.client.upsertEntity(entity, 'Replace')));
    return this.conditional(() => (etag ? this.client.updateEntity(entity, 'Replace', { etag }) : this.withTable(() => this.client.createEntity(entity))));
  }

  /** The sessions (and the row's expiry) only, over the version that was read. */
  async writeSessions(partitionKey: string, sessions: SessionMap, expiresOn: Date, etag: string): Promise<WriteResult> {
    const entity = { partitionKey, rowKey: ROW_KEY, Sessions: serializeSessions(sessions), ExpiresOn: expiresOn };
    return this.conditional(() => this.client.updateEntity(entity, 'Merge', { etag }));
  }

  /**
   * Writes only over the version that was read (If-Match), or creates when none was. A merge:
   * the row's sessions and expiry are not the cache's to change.
   */
  async writeIfUnchanged(partitionKey: string, cache: string, expiresOn: Date, etag: string | undefined): Promise<WriteResult> {
    const entity = toEntity(partitionKey, cache, expiresOn, this.cipher);
    if (etag) delete entity['ExpiresOn'];
    return this.conditional(() => (etag ? this.client.updateEntity(entity, 'Merge', { etag }) : this.withTable(() => this.client.createEntity(entity))));
  }

  async readLink(kind: LinkKind, value: string, issuer: string): Promise<LinkRow | undefined> {
    try {
      const entity = await this.client.getEntity<Record<string, unknown>>(linkPartitionKey(kind, value, issuer), LINK_ROW_KEY);
      const { Account: account, Issuer: linkIssuer } = entity;
      return typeof account === 'string' && typeof linkIssuer === 'string' ? { account, issuer: linkIssuer } : undefined;
    } catch (error) {
      if (isStatus(error, 404)) return undefined;
      throw tableFailure(error);
    }
  }

  async writeLink(kind: LinkKind, value: string, issuer: string, account: string, expiresOn: Date): Promise<void> {
    const entity = { partitionKey: linkPartitionKey(kind, value, issuer), rowKey: LINK_ROW_KEY, Account: account, Issuer: issuer, ExpiresOn: expiresOn };
    await this.withTable(() => this.client.upsertEntity(entity, 'Replace'));
  }

  /**
   * Rows whose `ExpiresOn` has passed (account rows, sid/sub links, used logout-token ids), one
   * page at a time, keys and ETags only.
   */
  async *expiredPages(now: Date, pageSize: number): AsyncGenerator<{ partitionKey: string; rowKey: string; etag: string }[]> {
    const pages = this.client.listEntities<Record<string, unknown>>({ queryOptions: { filter: odata`ExpiresOn lt ${now}`, select: ['PartitionKey', 'RowKey'] } }).byPage({ maxPageSize: pageSize });
    try {
      for await (const page of pages) {
        yield page.filter((e) => e.partitionKey && e.rowKey && e.etag).map((e) => ({ partitionKey: e.partitionKey!, rowKey: e.rowKey!, etag: e.etag }));
      }
    } catch (error) {
      if (isTableNotFound(error)) return;
      throw problems.token_cache_unavailable();
    }
  }

  /** Inserts a marker row once: false when it is already there (a replayed logout token). */
  async recordOnce(partitionKey: string, expiresOn: Date): Promise<boolean> {
    const result = await this.conditional(() => this.withTable(() => this.client.createEntity({ partitionKey, rowKey: ONCE_ROW_KEY, ExpiresOn: expiresOn })));
    return result.kind === 'written';
  }

  /**
   * Takes the account's refresh lease for `ms` with a conditional write: a new lease row, or over
   * an expired one with its ETag. Undefined when another instance holds a live lease.
   */
  async tryTakeRefreshLease(partitionKey: string, ms: number): Promise<RefreshLease | undefined> {
    const entity = { partitionKey, rowKey: REFRESH_LEASE_ROW_KEY, ExpiresOn: new Date(Date.now() + ms) };
    const created = await this.conditional(() => this.withTable(() => this.client.createEntity(entity)));
    if (created.kind === 'written') return { etag: created.etag };
    const current = await this.readRefreshLease(partitionKey);
    if (!current) return undefined; // released meanwhile: the caller re-reads the row
    if (current.expiresAt > Date.now()) return undefined;
    const taken = await this.conditional(() => this.client.updateEntity(entity, 'Replace', { etag: current.etag }));
    return taken.kind === 'written' ? { etag: taken.etag } : undefined;
  }

  /** The lease another instance holds, if any. */
  async readRefreshLease(partitionKey: string): Promise<{ etag: string; expiresAt: number } | undefined> {
    try {
      const entity = await this.client.getEntity<Record<string, unknown>>(partitionKey, REFRESH_LEASE_ROW_KEY);
      const expires = entity['ExpiresOn'];
      const expiresAt = expires instanceof Date ? expires.getTime() : typeof expires === 'string' ? Date.parse(expires) : 0;
      return { etag: entity.etag, expiresAt };
    } catch (error) {
      if (isStatus(error, 404)) return undefined;
      throw tableFailure(error);
    }
  }

  async releaseRefreshLease(partitionKey: string, lease: RefreshLease): Promise<void> {
    await this.delete(partitionKey, lease.etag, REFRESH_LEASE_ROW_KEY);
  }

  private async conditional(write: () => Promise<{ etag?: string }>): Promise<WriteResult> {
    try {
      const response = await write();
      return { kind: 'written', etag: response.etag ?? '' };
    } catch (error) {
      if (isStatus(error, 412) || isStatus(error, 409)) return { kind: 'conflict' };
      if (isStatus(error, 404)) return { kind: 'missing' };
      throw tableFailure(error);
    }
  }

  /** Deletes the row; with an ETag, only that version (a row written since is left alone). */
  async delete(partitionKey: string, etag?: string, rowKey: string = ROW_KEY): Promise<boolean> {
    try {
      await this.client.deleteEntity(partitionKey, rowKey, etag ? { etag } : undefined);
      return true;
    } catch (error) {
      if (isStatus(error, 404) || isStatus(error, 412)) return false;
      throw tableFailure(error);
    }
  }

  /** Creates the table on first need, so a fresh storage account works without a setup step. */
  private async withTable<T>(write: () => Promise<T>): Promise<T> {
    try {
      return await write();
    } catch (error) {
      if (this.tableEnsured || !isTableNotFound(error)) throw keepConditionalFailure(error);
    }
    try {
      await this.client.createTable();
      this.tableEnsured = true;
      return await write();
    } catch (error) {
      throw keepConditionalFailure(error);
    }
  }
}

/** A 409/412 is the caller's to judge (a conflict); any other failure is the service being unavailable. */
function keepConditionalFailure(error: unknown): unknown {
  return isStatus(error, 409) || isStatus(error, 412) ? error : tableFailure(error);
}
