import type { CacheRow } from './tableStore';
import { RecentMap } from '../recentMap';

/**
 * The hot path's shortcut around MSAL: a still-valid access token taken straight from the
 * account's row as just read, without building a client. MSAL stays the authority on which
 * token is the right one: the shortcut answers only where it knows which environment and realm
 * MSAL's silent flow would look in, either learnt from MSAL's own pick for this account and
 * scopes earlier in this process, or, for the first call in a process, read off a row so plain
 * that MSAL's account and tenant lookup has one outcome (`rowLocation` below). Then it applies
 * MSAL's own rules (silent flow): the account is in the row, exactly one access token of that
 * environment, realm, client and account covers the scopes, it is a plain Bearer token acquired
 * without claims, it expires later than MSAL's refresh margin and its `refresh_on` has not come,
 * and the clock has not gone back past its `cached_at`. Anything else, and every refresh, goes
 * through MSAL.
 */

/** MSAL's default `tokenRenewalOffsetSeconds`: a token this close to expiry is refreshed, not used. */
export const MSAL_REFRESH_MARGIN_SECONDS = 300;

interface Entry {
  readonly [field: string]: unknown;
}

interface ParsedCache {
  readonly Account?: Readonly<Record<string, Entry>>;
  readonly IdToken?: Readonly<Record<string, Entry>>;
  readonly AccessToken?: Readonly<Record<string, Entry>>;
}

/** Where MSAL found the token for an account and scopes: what the shortcut may match. */
interface TokenLocation {
  readonly environment: string;
  readonly realm: string;
}

/** Bounded: one entry per account and API in use; the oldest go first. */
const MAX_LOCATIONS = 20_000;
const locations = new RecentMap<string, TokenLocation>(MAX_LOCATIONS);

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

/** The scopes as one sorted text; worked out once per array (a configured API's scopes are one array). */
const scopeKeys = new WeakMap<readonly string[], string>();
function scopesKey(scopes: readonly string[]): string {
  let key = scopeKeys.get(scopes);
  if (key === undefined) scopeKeys.set(scopes, (key = [...scopeSet(scopes)].sort().join(' ')));
  return key;
}

function locationKey(partitionKey: string, authorityUrl: string, scopes: string): string {
  return `${partitionKey}\n${authorityUrl}\n${scopes}`;
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

function entriesOf(section: Readonly<Record<string, Entry>> | undefined, homeAccountId: string): Entry[] {
  return Object.values(section ?? {}).filter((entry) => entry && typeof entry === 'object' && str(entry, 'home_account_id') === homeAccountId);
}

/** The tenant MSAL reads off an ID token (msal-common's buildTenantProfile: `tid`, else B2C's `tfp` or `acr`). */
function claimsTenant(idToken: string | undefined): string | undefined {
  try {
    const claims = JSON.parse(Buffer.from(idToken?.split('.')[1] ?? '', 'base64url').toString('utf8')) as Record<string, unknown>;
    const tenant = claims['tid'] || claims['tfp'] || claims['acr'];
    return typeof tenant === 'string' && tenant !== '' ? tenant : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Where MSAL's silent flow looks for the account's access token, worked out from the row alone,
 * for a row where each of its steps has one outcome; undefined otherwise (then MSAL decides).
 * MSAL (msal-common 16) takes the first account of the home account id, expanded into one
 * AccountInfo per tenant profile (an entity without profiles counts as its home tenant); its
 * tenant is the ID token's `tid`/`tfp`/`acr` when one ID token of that profile exists, and the
 * access token is looked up under the account's environment (and its aliases) and that tenant.
 * So this requires: exactly one account entity of the home account id, at most one tenant
 * profile and that one its own realm; exactly one ID token of the home account id and client,
 * in that environment and realm, naming a tenant; the environment is the authority's own host
 * (always among the aliases MSAL matches: the configuration lists it in knownAuthorities);
 * and, checked by the caller, exactly one access token of the account and client covering the
 * scopes in any environment or realm, which is then in this one.
 */
function rowLocation(cache: ParsedCache, query: CachedTokenQuery): TokenLocation | undefined {
  const accounts = entriesOf(cache.Account, query.homeAccountId);
  if (accounts.length !== 1) return undefined;
  const account = accounts[0]!;
  const environment = str(account, 'environment');
  const realm = str(account, 'realm');
  if (!environment || !realm || environment !== new URL(query.authorityUrl).host) return undefined;
  const profiles = account['tenantProfiles'];
  if (profiles !== undefined) {
    if (!Array.isArray(profiles) || profiles.length > 1) return undefined;
    if (profiles.length === 1) {
      try {
        if ((JSON.parse(String(profiles[0])) as { tenantId?: unknown }).tenantId !== realm) return undefined;
      } catch {
        return undefined;
      }
    } else if (!str(account, 'local_account_id')) return undefined; // no profile at all: MSAL lists no account
  } else if (!str(account, 'local_account_id')) return undefined;
  const idTokens = entriesOf(cache.IdToken, query.homeAccountId).filter((entry) => str(entry, 'client_id') === query.clientId);
  if (idTokens.length !== 1) return undefined;
  const idToken = idTokens[0]!;
  if (str(idToken, 'environment') !== environment || str(idToken, 'realm') !== realm || str(idToken, 'credential_type')?.toLowerCase() !== 'idtoken') return undefined;
  const tenant = claimsTenant(str(idToken, 'secret'));
  return tenant === undefined ? undefined : { environment, realm: tenant };
}

/** The access token MSAL would return from this row without a provider call, or undefined: then ask MSAL. */
export function cachedAccessToken(row: CacheRow, query: CachedTokenQuery): string | undefined {
  const scopes = scopesKey(query.scopes);
  const learnt = locations.get(locationKey(query.partitionKey, query.authorityUrl, scopes));
  const token = candidateOf(row, query, scopes, learnt);
  if (!token) return undefined;
  // MSAL's clock (msal-common's nowSeconds) rounds to the nearest second: a token it wrote in the
  // last half second has a `cached_at` one above the floor of now, and its checks use the same.
  const now = query.now ?? Math.round(Date.now() / 1000);
  const expiresOn = Number(str(token, 'expires_on'));
  const cachedAt = Number(str(token, 'cached_at'));
  const refreshOn = str(token, 'refresh_on');
  if (!Number.isFinite(expiresOn) || now + MSAL_REFRESH_MARGIN_SECONDS > expiresOn) return undefined;
  if (!Number.isFinite(cachedAt) || cachedAt > now) return undefined;
  if (refreshOn !== undefined && !(now <= Number(refreshOn))) return undefined;
  return str(token, 'secret');
}

/**
 * The one token entry the shortcut may use for this query, before the clock is asked: the same
 * for every call that reads this version of the row, so it is worked out once per version
 * (the row's memo) and per query and location.
 */
function candidateOf(row: CacheRow, query: CachedTokenQuery, scopes: string, learnt: TokenLocation | undefined): Entry | undefined {
  const picks = row.memo && (row.memo.picks ??= new Map());
  const key = picks && `${query.homeAccountId}\n${query.clientId}\n${query.authorityUrl}\n${scopes}\n${learnt ? `${learnt.environment}\n${learnt.realm}` : ''}`;
  if (picks?.has(key!)) return picks.get(key!) as Entry | undefined;
  const picked = pickCandidate(row, query, learnt);
  picks?.set(key!, picked);
  return picked;
}

function pickCandidate(row: CacheRow, query: CachedTokenQuery, learnt: TokenLocation | undefined): Entry | undefined {
  const cache = parsedCacheOf(row);
  if (!cache) return undefined;
  // Stryker disable next-line ConditionalExpression: a field of a text or number entry reads as undefined, which is no match
  const accountFound = Object.values(cache.Account ?? {}).some((account) => account && typeof account === 'object' && str(account, 'home_account_id') === query.homeAccountId);
  if (!accountFound) return undefined;
  let tokens: Entry[];
  if (learnt) {
    tokens = matchingTokens(cache, query.homeAccountId, query.clientId, scopeSet(query.scopes), learnt);
  } else {
    const where = rowLocation(cache, query);
    if (!where) return undefined;
    // One candidate in any environment or realm: MSAL's own (narrower) lookup finds that one or none.
    tokens = matchingTokens(cache, query.homeAccountId, query.clientId, scopeSet(query.scopes), undefined);
    if (tokens.length === 1 && (str(tokens[0]!, 'environment') !== where.environment || str(tokens[0]!, 'realm') !== where.realm)) return undefined;
  }
  if (tokens.length !== 1) return undefined;
  const token = tokens[0]!;
  const tokenType = str(token, 'token_type');
  if ((tokenType !== undefined && tokenType.toLowerCase() !== 'bearer') || token['keyId'] !== undefined || token['requestedClaimsHash'] !== undefined) return undefined;
  return token;
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
  const key = locationKey(query.partitionKey, query.authorityUrl, scopesKey(query.scopes));
  locations.set(key, { environment, realm });
}

/** Tests: forget what MSAL taught. */
export function forgetTokenLocations(): void {
  locations.clear();
}
