import type { ICachePlugin, TokenCacheContext } from '@azure/msal-node';
import { isEmptyCache, mergeSerializedCaches } from './merge';
import type { CacheRow, TokenCacheTable } from './tableStore';
import { problems, type ProblemError } from '../problems';

const MAX_WRITE_ATTEMPTS = 5;

export function sessionEnded(): ProblemError {
  return problems.session_ended('The account\'s tokens are gone (signed out or expired).');
}

/**
 * MSAL cache plugin bound to one account's row, for one short-lived client. It reads the row
 * once (the client is per request, so its memory is the freshest copy after that), and writes
 * only when MSAL reports a change (the context flag: `deserialize()` alone also marks the
 * cache changed). The write is conditional on the ETag it read; on a conflict it re-reads,
 * merges the other writer's entries with its own changes and tries again.
 */
export class AccountCachePlugin implements ICachePlugin {
  private loaded = false;
  private base: string | undefined;
  private etag: string | undefined;
  rowFound = false;
  writes = 0;

  constructor(
    private readonly table: TokenCacheTable,
    private readonly partitionKey: string,
    private readonly expiresOn: () => Date,
    /** The row as the caller already read it (the session check), so a call stays at one read. */
    private readonly preloaded?: CacheRow,
  ) {}

  async beforeCacheAccess(context: TokenCacheContext): Promise<void> {
    if (this.loaded) return;
    const row = this.preloaded ?? (await this.table.read(this.partitionKey));
    this.loaded = true;
    if (!row) return;
    this.rowFound = true;
    this.base = row.cache;
    this.etag = row.etag;
    context.tokenCache.deserialize(row.cache);
  }

  async afterCacheAccess(context: TokenCacheContext): Promise<void> {
    if (!context.cacheHasChanged) return;
    // The row was deleted under this session (sign-out elsewhere): do not bring it back.
    if (!this.rowFound) throw sessionEnded();
    let ours = context.tokenCache.serialize();
    for (let attempt = 1; attempt <= MAX_WRITE_ATTEMPTS; attempt++) {
      if (isEmptyCache(ours)) {
        await this.table.delete(this.partitionKey);
        return;
      }
      const result = await this.table.writeIfUnchanged(this.partitionKey, ours, this.expiresOn(), this.etag);
      if (result.kind === 'written') {
        this.writes++;
        this.base = ours;
        this.etag = result.etag;
        return;
      }
      if (result.kind === 'missing') throw sessionEnded();
      const theirs = await this.table.read(this.partitionKey);
      if (!theirs) throw sessionEnded();
      ours = mergeSerializedCaches(this.base, ours, theirs.cache);
      this.base = theirs.cache;
      this.etag = theirs.etag;
    }
    throw problems.token_cache_contended();
  }
}
