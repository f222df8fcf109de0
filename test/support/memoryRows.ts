import type { CacheRow, LinkKind, WriteResult } from '../../shared/tokenCache/tableStore';
import type { SessionMap } from '../../shared/session/lifetimes';

/**
 * An in-memory stand-in for the account rows (the parts of `TokenCacheTable` the session and
 * sign-in code use) that keeps ETags as Table Storage does (If-Match, create-if-absent), so
 * conflicts can be staged. The Table client itself is exercised against Azurite by the
 * integration suites.
 */
export interface StoredRow {
  cache: string;
  etag: string;
  sessions: SessionMap;
  expiresOn: Date;
  needsReseal?: boolean;
}

export class MemoryRows {
  readonly rows = new Map<string, StoredRow>();
  readonly calls: string[] = [];
  private version = 0;
  /** Runs before each write: a test's concurrent writer. */
  beforeWrite: (pk: string) => void = () => {};
  deleteFails = 0;

  put(pk: string, row: Omit<StoredRow, 'etag'>): string {
    const etag = `W/"${++this.version}"`;
    this.rows.set(pk, { ...row, etag });
    return etag;
  }

  async read(pk: string): Promise<CacheRow | undefined> {
    this.calls.push('read');
    const row = this.rows.get(pk);
    return row && { cache: row.cache, etag: row.etag, sessions: row.sessions, ...(row.needsReseal ? { needsReseal: true } : {}) };
  }

  async replaceRow(pk: string, cache: string, sessions: SessionMap, expiresOn: Date, etag: string | undefined | 'any'): Promise<WriteResult> {
    this.calls.push(`replaceRow ${etag === undefined ? 'create' : etag === 'any' ? 'any' : 'if-match'}`);
    this.beforeWrite(pk);
    const current = this.rows.get(pk);
    if (etag === undefined && current) return { kind: 'conflict' };
    if (etag !== undefined && etag !== 'any') {
      if (!current) return { kind: 'missing' };
      if (current.etag !== etag) return { kind: 'conflict' };
    }
    return { kind: 'written', etag: this.put(pk, { cache, sessions, expiresOn }) };
  }

  async writeSessions(pk: string, sessions: SessionMap, expiresOn: Date, etag: string): Promise<WriteResult> {
    this.calls.push('writeSessions');
    this.beforeWrite(pk);
    const current = this.rows.get(pk);
    if (!current) return { kind: 'missing' };
    if (current.etag !== etag) return { kind: 'conflict' };
    return { kind: 'written', etag: this.put(pk, { ...current, sessions, expiresOn }) };
  }

  async delete(pk: string, etag?: string): Promise<boolean> {
    this.calls.push('delete');
    this.beforeWrite(pk);
    if (this.deleteFails > 0) {
      this.deleteFails -= 1;
      return false;
    }
    const current = this.rows.get(pk);
    if (!current || (etag && current.etag !== etag)) return false;
    this.rows.delete(pk);
    return true;
  }

  /** Logout links as written: `kind value issuer -> account`. */
  readonly links = new Map<string, { account: string; expiresOn: Date }>();

  async writeLink(kind: LinkKind, value: string, issuer: string, account: string, expiresOn: Date): Promise<void> {
    this.calls.push(`writeLink ${kind}`);
    this.links.set(`${kind} ${value} ${issuer}`, { account, expiresOn });
  }
}
