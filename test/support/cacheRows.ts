import { TableClient } from '@azure/data-tables';
import { fromEntity, partitionKeyFor, ROW_KEY, toEntity } from '../../shared/tokenCache/tableStore';
import type { LocalStack } from '../../dev/stack';
import { DEFAULT_USERS } from '../../dev/idp';

/** What the helpers need of a stack: its settings (the Table) and its runtime (the row cipher); an app in another process is described by the same two. */
export type CacheStack = Pick<LocalStack, 'settings' | 'runtime'>;

/** The app's own row cipher: rows are encrypted at rest, and a test opens them as the app does. */
async function appCipher(stack: CacheStack) {
  return (await stack.runtime.get()).tokenCache.cipher;
}

/** Direct access to the cache table, to look at and tamper with rows as an outsider would. */
export function cacheTable(stack: CacheStack): TableClient {
  return TableClient.fromConnectionString(stack.settings['TokenCache__ConnectionString']!, stack.settings['TokenCache__TableName'] ?? 'TokenCache', { allowInsecureConnection: true });
}

export function homeAccountIdOf(username = 'ada@contoso.dev'): string {
  const user = DEFAULT_USERS.find((u) => u.username === username)!;
  return `${user.oid}.${user.tid}`;
}

export async function readCacheRow(stack: CacheStack, username?: string): Promise<{ cache: Record<string, Record<string, Record<string, string>>>; etag: string } | undefined> {
  try {
    const entity = await cacheTable(stack).getEntity<Record<string, unknown>>(partitionKeyFor(homeAccountIdOf(username)), ROW_KEY);
    return { cache: JSON.parse(fromEntity(entity, await appCipher(stack))!), etag: entity.etag };
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode === 404) return undefined;
    throw error;
  }
}

/** Makes every access token in the account's row look expired, as time would. */
export async function expireAccessTokens(stack: CacheStack, username?: string): Promise<void> {
  const past = String(Math.floor(Date.now() / 1000) - 60);
  await rewriteAccessTokens(stack, (token) => {
    token['expires_on'] = past;
    token['extended_expires_on'] = past;
  }, username);
}

/** Changes every access token in the account's row (another instance's refresh, time passing), as the app's own cache writes do. */
export async function rewriteAccessTokens(stack: CacheStack, change: (token: Record<string, string>) => void, username?: string): Promise<void> {
  const row = (await readCacheRow(stack, username))!;
  for (const token of Object.values(row.cache['AccessToken'] ?? {})) change(token);
  const entity = toEntity(partitionKeyFor(homeAccountIdOf(username)), JSON.stringify(row.cache), new Date(Date.now() + 3600_000), await appCipher(stack));
  delete entity['ExpiresOn'];
  // A merge, as the app's own cache writes: the row's session records stay.
  await cacheTable(stack).updateEntity(entity, 'Merge', { etag: row.etag });
}

export async function deleteCacheRow(stack: CacheStack, username?: string): Promise<void> {
  await cacheTable(stack).deleteEntity(partitionKeyFor(homeAccountIdOf(username)), ROW_KEY);
}
