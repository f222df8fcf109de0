import type { ICachePlugin, TokenCacheContext } from '@azure/msal-node';
import { isEmptyCache, mergeSerializedCaches } from './merge';
import type { CacheRow, TokenCacheTable } from './tableStore';
import { problems, type ProblemError } from '../problems';
import { checkCacheShape } from './cacheShape';

/** Logged (with the partition key, a hash, never the content) when a row cannot be used. */
export const UNREADABLE_ROW_LOG_CODE = 'token_cache_row_unreadable';

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

  /** The cache as the row holds it now: as read, or as this plugin last wrote it. */
  get latestCache(): string | undefined {
    return this.base;
  }

  constructor(
    private readonly table: TokenCacheTable,
    private readonly partitionKey: string,
    private readonly expiresOn: () => Date,
    /** The row as the caller already read it (the session check), so a call stays at one read. */
    private readonly preloaded?: CacheRow,
    private readonly log: (line: string) => void = () => {},
  ) {}

  async beforeCacheAccess(context: TokenCacheContext): Promise<void> {
    if (this.loaded) return;
    const row = this.preloaded ?? (await this.table.read(this.partitionKey));
    this.loaded = true;
    if (!row) return;
    const shape = checkCacheShape(row.cache);
    if (!shape.usable) {
      // Read as no tokens (401 with loginUrl); the next sign-in writes over it.
      this.log(`${UNREADABLE_ROW_LOG_CODE}: row ${this.partitionKey} is ${shape.reason === 'not_json' ? 'not JSON' : 'not an MSAL cache'}; the account must sign in again`);
      return;
    }
    try {
      context.tokenCache.deserialize(row.cache);
    } catch {
      this.log(`${UNREADABLE_ROW_LOG_CODE}: row ${this.partitionKey} was refused by MSAL; the account must sign in again`);
      return;
    }
    this.rowFound = true;
    this.base = row.cache;
    this.etag = row.etag;
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
      // A row the other writer left unreadable is replaced by ours rather than merged.
      if (checkCacheShape(theirs.cache).usable) ours = mergeSerializedCaches(this.base, ours, theirs.cache);
      this.base = theirs.cache;
      this.etag = theirs.etag;
    }
    throw problems.token_cache_contended();
  }
}
