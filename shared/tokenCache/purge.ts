import type { TokenCacheTable } from './tableStore';

/** Every 15 minutes (NCRONTAB, with seconds, as the Functions host reads it). */
export const PURGE_SCHEDULE = '0 */15 * * * *';
export const PURGE_PAGE_SIZE = 100;
/** At most this many pages per run: a backlog is worked off over several runs, never in one long one. */
export const PURGE_MAX_PAGES = 20;

export interface PurgeResult {
  /** Rows this run deleted. */
  readonly deleted: number;
  /** Rows another writer changed (a slide, a sign-in) or another instance deleted first. */
  readonly skipped: number;
  readonly pages: number;
}

/**
 * Deletes the rows whose expiry has passed, in bounded pages. Each delete is conditional on
 * the ETag the query saw, so a row a user renewed meanwhile stays, and two instances running at
 * once only ever skip each other's deletions.
 */
export async function purgeExpired(table: TokenCacheTable, options: { now?: Date; pageSize?: number; maxPages?: number } = {}): Promise<PurgeResult> {
  const now = options.now ?? new Date();
  const maxPages = options.maxPages ?? PURGE_MAX_PAGES;
  let deleted = 0;
  let skipped = 0;
  let pages = 0;
  for await (const page of table.expiredPages(now, options.pageSize ?? PURGE_PAGE_SIZE)) {
    pages++;
    for (const row of page) {
      if (await table.delete(row.partitionKey, row.etag, row.rowKey)) deleted++;
      else skipped++;
    }
    if (pages >= maxPages) break;
  }
  return { deleted, skipped, pages };
}
