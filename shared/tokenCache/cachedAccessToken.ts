import type { CacheRow } from './tableStore';

/**
 * The hot path's shortcut around MSAL: a still-valid access token taken straight from the
 * account's row as just read, without building a client. MSAL stays the authority on which
 * token is the right one: the shortcut only answers for an account and scopes where MSAL
 * already picked a token from a row in this process (it learns that token's environment and
 * realm), then applies MSAL's own rules (silent flow): the account is in the row, exactly one
 * access token of that environment, realm, client and account covers the scopes, it is a plain
 * Bearer token acquired without claims, it expires later than MSAL's refresh margin and its
 * `refresh_on` has not come, and the clock has not gone back past its `cached_at`. Anything
 * else, and every refresh, goes through MSAL.
 */

/** MSAL's default `tokenRenewalOffsetSeconds`: a token this close to expiry is refreshed, not used. */
export const MSAL_REFRESH_MARGIN_SECONDS = 300;

interface Entry {
  readonly [field: string]: unknown;
}

interface ParsedCache {
  readonly Account?: Readonly<Record<string, Entry>>;
  readonly AccessToken?: Readonly<Record<string, Entry>>;
}

/** Where MSAL found the token for an account and scopes: what the shortcut may match. */
interface TokenLocation {
  readonly environment: string;
  readonly realm: string;
}

/** Bounded: one entry per account and API in use; the oldest go first. */
const MAX_LOCATIONS = 20_000;
const locations = new Map<string, TokenLocation>();

/** The scopes as MSAL compares them: case-insensitive, without the OpenID Connect ones it adds itself. */
const OIDC_SCOPES = new Set(['openid', 'profile', 'offline_access']);
function scopeSet(scopes: Iterable<string>): Set<string> {
  const set = new Set<string>();
  for (const scope of scopes) {
    const lower = scope.trim().toLowerCase();
    if (lower && !OIDC_SCOPES.has(lower)) set.add(lower);
  }
  return set;
}

function locationKey(partitionKey: string, authorityUrl: string, scopes: readonly string[]): string {
  return `${partitionKey}\n${authorityUrl}\n${[...scopeSet(scopes)].sort().join(' ')}`;
}

function parsedCacheOf(row: CacheRow): ParsedCache | undefined {
  const memo = row.memo;
  if (memo && 'parsed' in memo) return memo.parsed as ParsedCache | undefined;
  let parsed: ParsedCache | undefined;
  try {
    const value = JSON.parse(row.cache) as unknown;
    // Stryker disable next-line ConditionalExpression,LogicalOperator: JSON that is not an object has no Account entries, which cachedAccessToken refuses next
    parsed = value && typeof value === 'object' && !Array.isArray(value) ? (value as ParsedCache) : undefined;
    // Stryker disable next-line BlockStatement: parsed is undefined already
  } catch {
    parsed = undefined;
  }
  // The row's memo lives as long as that version of the row (same ETag) stays in the read cache.
  if (memo) memo.parsed = parsed;
  return parsed;
}

function str(entry: Entry, field: string): string | undefined {
  const value = entry[field];
  return typeof value === 'string' ? value : undefined;
}

function matchingTokens(cache: ParsedCache, homeAccountId: string, clientId: string, wanted: Set<string>, where: TokenLocation | undefined): Entry[] {
  const found: Entry[] = [];
  for (const entry of Object.values(cache.AccessToken ?? {})) {
    // Stryker disable next-line ConditionalExpression: a field of a text or number entry reads as undefined, which the next check refuses
    if (!entry || typeof entry !== 'object') continue;
    if (str(entry, 'home_account_id') !== homeAccountId || str(entry, 'client_id') !== clientId) continue;
    if (str(entry, 'credential_type')?.toLowerCase() !== 'accesstoken') continue;
    if (where && (str(entry, 'environment') !== where.environment || str(entry, 'realm') !== where.realm)) continue;
    const target = scopeSet((str(entry, 'target') ?? '').split(' '));
    let covers = true;
    for (const scope of wanted) if (!target.has(scope)) covers = false;
    if (covers) found.push(entry);
  }
  return found;
}

export interface CachedTokenQuery {
  readonly partitionKey: string;
  readonly homeAccountId: string;
  readonly clientId: string;
  readonly authorityUrl: string;
  readonly scopes: readonly string[];
  /** Seconds since the epoch (tests move it). */
  readonly now?: number;
}

/** The access token MSAL would return from this row without a provider call, or undefined: then ask MSAL. */
export function cachedAccessToken(row: CacheRow, query: CachedTokenQuery): string | undefined {
  const where = locations.get(locationKey(query.partitionKey, query.authorityUrl, query.scopes));
  if (!where) return undefined;
  const cache = parsedCacheOf(row);
  if (!cache) return undefined;
  // Stryker disable next-line ConditionalExpression: a field of a text or number entry reads as undefined, which is no match
  const accountFound = Object.values(cache.Account ?? {}).some((account) => account && typeof account === 'object' && str(account, 'home_account_id') === query.homeAccountId);
  if (!accountFound) return undefined;
  const tokens = matchingTokens(cache, query.homeAccountId, query.clientId, scopeSet(query.scopes), where);
  if (tokens.length !== 1) return undefined;
  const token = tokens[0]!;
  const tokenType = str(token, 'token_type');
  if ((tokenType !== undefined && tokenType.toLowerCase() !== 'bearer') || token['keyId'] !== undefined || token['requestedClaimsHash'] !== undefined) return undefined;
  const now = query.now ?? Math.floor(Date.now() / 1000);
  const expiresOn = Number(str(token, 'expires_on'));
  const cachedAt = Number(str(token, 'cached_at'));
  const refreshOn = str(token, 'refresh_on');
  if (!Number.isFinite(expiresOn) || now + MSAL_REFRESH_MARGIN_SECONDS > expiresOn) return undefined;
  if (!Number.isFinite(cachedAt) || cachedAt > now) return undefined;
  if (refreshOn !== undefined && !(now <= Number(refreshOn))) return undefined;
  return str(token, 'secret');
}

/**
 * After MSAL answered for an account and scopes: remember where its token sits in the cache
 * (serialized, as the row now holds it), so the next call can take it without MSAL.
 */
export function learnTokenLocation(serializedCache: string | undefined, accessToken: string, query: Omit<CachedTokenQuery, 'now'>): void {
  // Stryker disable next-line ConditionalExpression: JSON.parse throws on undefined and '', and the catch below returns the same
  if (!serializedCache) return;
  let cache: ParsedCache;
  try {
    cache = JSON.parse(serializedCache) as ParsedCache;
  } catch {
    return;
  }
  const token = Object.values(cache.AccessToken ?? {}).find((entry) => entry && typeof entry === 'object' && entry['secret'] === accessToken);
  const environment = token && str(token, 'environment');
  const realm = token && str(token, 'realm');
  if (environment === undefined || realm === undefined || str(token!, 'home_account_id') !== query.homeAccountId) return;
  const key = locationKey(query.partitionKey, query.authorityUrl, query.scopes);
  locations.delete(key);
  if (locations.size >= MAX_LOCATIONS) locations.delete(locations.keys().next().value!);
  locations.set(key, { environment, realm });
}

/** Tests: forget what MSAL taught. */
export function forgetTokenLocations(): void {
  locations.clear();
}
