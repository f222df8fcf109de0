import type { TokenCacheContext } from '@azure/msal-node';
import { AccountCachePlugin, sessionEnded, UNREADABLE_ROW_LOG_CODE } from '../../shared/tokenCache/accountCachePlugin';
import type { CacheRow, TokenCacheTable, WriteResult } from '../../shared/tokenCache/tableStore';
import { ProblemError } from '../../shared/problems';

/**
 * The cache plugin's read-once, write-if-changed and conflict handling, against an in-memory row
 * with ETags (the real Table client and MSAL are exercised by the integration suites).
 */
const entry = (secret: string) => ({ home_account_id: 'uid.utid', environment: 'idp', credential_type: 'RefreshToken', client_id: 'c', secret });
const cache = (tokens: Record<string, string>) =>
  JSON.stringify({ Account: { a: { home_account_id: 'uid.utid', environment: 'idp' } }, RefreshToken: Object.fromEntries(Object.entries(tokens).map(([k, v]) => [k, entry(v)])), AccessToken: {}, IdToken: {}, AppMetadata: {} });
const emptyCache = JSON.stringify({ Account: {}, RefreshToken: {}, AccessToken: {}, IdToken: {}, AppMetadata: {} });

class MemoryRow {
  row: { cache: string; etag: string } | undefined;
  readonly calls: string[] = [];
  private version = 0;
  /** Runs before each conditional write: a test's concurrent writer. */
  beforeWrite: () => void = () => {};
  writeResult: WriteResult['kind'] | undefined;

  set(cache: string): string {
    const etag = `"${++this.version}"`;
    this.row = { cache, etag };
    return etag;
  }

  async read(): Promise<CacheRow | undefined> {
    this.calls.push('read');
    return this.row && { ...this.row, sessions: {} };
  }

  async writeIfUnchanged(_pk: string, cache: string, _expiresOn: Date, etag: string | undefined): Promise<WriteResult> {
    this.calls.push(`write ${etag ?? 'create'}`);
    this.beforeWrite();
    if (this.writeResult === 'missing') return { kind: 'missing' };
    if (!this.row) return etag ? { kind: 'missing' } : { kind: 'written', etag: this.set(cache) };
    if (this.row.etag !== etag) return { kind: 'conflict' };
    return { kind: 'written', etag: this.set(cache) };
  }

  async delete(): Promise<boolean> {
    this.calls.push('delete');
    this.row = undefined;
    return true;
  }
}

/** MSAL's side: what it deserialized, what it serializes, and whether it reports a change. */
function msalContext(changed: boolean, serialized?: () => string) {
  const deserialized: string[] = [];
  const context = {
    cacheHasChanged: changed,
    tokenCache: {
      deserialize: (c: string) => {
        JSON.parse(c);
        deserialized.push(c);
      },
      serialize: () => serialized?.() ?? deserialized.at(-1) ?? '{}',
    },
  } as unknown as TokenCacheContext;
  return { context, deserialized };
}

let table: MemoryRow;
let lines: string[];
const plugin = (preloaded?: CacheRow) => new AccountCachePlugin(table as unknown as TokenCacheTable, 'pk-1', () => new Date(0), preloaded, (l) => lines.push(l));
beforeEach(() => {
  table = new MemoryRow();
  lines = [];
});

describe('before MSAL reads the cache', () => {
  test('reads the row once and hands it to MSAL', async () => {
    table.set(cache({ r: 'rt1' }));
    const p = plugin();
    const { context, deserialized } = msalContext(false);
    await p.beforeCacheAccess(context);
    await p.beforeCacheAccess(context);
    expect(table.calls).toEqual(['read']);
    expect(deserialized).toEqual([cache({ r: 'rt1' })]);
    expect(p.rowFound).toBe(true);
  });

  test('a row the caller already read costs no read', async () => {
    const p = plugin({ cache: cache({ r: 'rt1' }), etag: '"9"', sessions: {} });
    const { context, deserialized } = msalContext(false);
    await p.beforeCacheAccess(context);
    expect(table.calls).toEqual([]);
    expect(deserialized).toHaveLength(1);
  });

  test('no row: nothing for MSAL, no row found, and read only once', async () => {
    const p = plugin();
    const { context, deserialized } = msalContext(false);
    await p.beforeCacheAccess(context);
    await p.beforeCacheAccess(context);
    expect(table.calls).toEqual(['read']);
    expect(deserialized).toEqual([]);
    expect(p.rowFound).toBe(false);
  });

  test.each([
    ['{"Account":', 'not JSON'],
    ['{"Account":{"a":{"home_account_id":5}}}', 'not an MSAL cache'],
  ])('an unreadable row (%s) reads as no tokens and is logged by code, never by content', async (stored, reason) => {
    table.set(stored);
    const p = plugin();
    const { context, deserialized } = msalContext(false);
    await p.beforeCacheAccess(context);
    expect(deserialized).toEqual([]);
    expect(p.rowFound).toBe(false);
    expect(lines).toEqual([`${UNREADABLE_ROW_LOG_CODE}: row pk-1 is ${reason}; the account must sign in again`]);
  });

  test('a row MSAL refuses reads as no tokens and is logged', async () => {
    table.set(cache({ r: 'rt1' }));
    const p = plugin();
    const context = { cacheHasChanged: false, tokenCache: { deserialize: () => { throw new Error('refused'); }, serialize: () => '{}' } } as unknown as TokenCacheContext;
    await p.beforeCacheAccess(context);
    expect(p.rowFound).toBe(false);
    expect(lines).toEqual([`${UNREADABLE_ROW_LOG_CODE}: row pk-1 was refused by MSAL; the account must sign in again`]);
  });
});

describe('after MSAL used the cache', () => {
  test('nothing changed: nothing written', async () => {
    table.set(cache({ r: 'rt1' }));
    const p = plugin();
    const { context } = msalContext(false);
    await p.beforeCacheAccess(context);
    await p.afterCacheAccess(context);
    expect(table.calls).toEqual(['read']);
    expect(p.writes).toBe(0);
  });

  test('a change is written over the version read; a second change over the version written', async () => {
    const etag = table.set(cache({ r: 'rt1' }));
    const p = plugin();
    let now = cache({ r: 'rt2' });
    const { context } = msalContext(true, () => now);
    await p.beforeCacheAccess(context);
    await p.afterCacheAccess(context);
    expect(table.calls).toEqual(['read', `write ${etag}`]);
    expect(table.row!.cache).toBe(cache({ r: 'rt2' }));
    expect(p.writes).toBe(1);
    const second = table.row!.etag;
    now = cache({ r: 'rt3' });
    await p.afterCacheAccess(context);
    expect(table.calls.at(-1)).toBe(`write ${second}`);
    expect(p.writes).toBe(2);
  });

  test('a change to an account whose row was gone (signed out elsewhere) is not written back: session ended', async () => {
    const p = plugin();
    const { context } = msalContext(true, () => cache({ r: 'rt2' }));
    await p.beforeCacheAccess(context);
    const failure = await p.afterCacheAccess(context).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(ProblemError);
    expect(failure).toMatchObject({ status: 401, code: 'session_ended' });
    expect(table.calls).toEqual(['read']);
  });

  test('an emptied cache deletes the row', async () => {
    table.set(cache({ r: 'rt1' }));
    const p = plugin();
    const { context } = msalContext(true, () => emptyCache);
    await p.beforeCacheAccess(context);
    await p.afterCacheAccess(context);
    expect(table.calls).toEqual(['read', 'delete']);
    expect(table.row).toBeUndefined();
  });

  test('a row deleted before the write: session ended', async () => {
    table.set(cache({ r: 'rt1' }));
    const p = plugin();
    const { context } = msalContext(true, () => cache({ r: 'rt2' }));
    await p.beforeCacheAccess(context);
    table.writeResult = 'missing';
    await expect(p.afterCacheAccess(context)).rejects.toMatchObject({ code: 'session_ended' });
  });

  test('a conflict: their entries merged with ours over their new version, so neither writer loses a token', async () => {
    table.set(cache({ r: 'rt1' }));
    const p = plugin();
    const { context } = msalContext(true, () => cache({ r: 'rt1', mine: 'm1' }));
    await p.beforeCacheAccess(context);
    let once = true;
    table.beforeWrite = () => {
      if (once) table.set(cache({ r: 'rt1', theirs: 't1' }));
      once = false;
    };
    await p.afterCacheAccess(context);
    const written = JSON.parse(table.row!.cache);
    expect(Object.keys(written.RefreshToken).sort()).toEqual(['mine', 'r', 'theirs']);
    expect(table.calls).toEqual(['read', 'write "1"', 'read', 'write "2"']);
  });

  test('after a conflict the base is their version: their next change to an entry we took from them wins', async () => {
    table.set(cache({ r: 'rt1' }));
    const p = plugin();
    const { context } = msalContext(true, () => cache({ r: 'rt1', mine: 'm1' }));
    await p.beforeCacheAccess(context);
    let conflicts = 2;
    table.beforeWrite = () => {
      // They refresh `r` twice (single-use refresh tokens), each time just before our write.
      if (conflicts === 2) table.set(cache({ r: 'rt2' }));
      if (conflicts === 1) table.set(cache({ r: 'rt3' }));
      conflicts--;
    };
    await p.afterCacheAccess(context);
    const written = JSON.parse(table.row!.cache).RefreshToken;
    expect(Object.keys(written).sort()).toEqual(['mine', 'r']);
    expect(written.r.secret).toBe('rt3');
  });

  test('a conflict with a row the other writer left unreadable: ours replaces it', async () => {
    table.set(cache({ r: 'rt1' }));
    const p = plugin();
    const { context } = msalContext(true, () => cache({ r: 'rt2' }));
    await p.beforeCacheAccess(context);
    let once = true;
    table.beforeWrite = () => {
      if (once) table.set('{"broken":');
      once = false;
    };
    await p.afterCacheAccess(context);
    expect(table.row!.cache).toBe(cache({ r: 'rt2' }));
  });

  test('a conflict whose row is then gone: session ended', async () => {
    table.set(cache({ r: 'rt1' }));
    const p = plugin();
    const { context } = msalContext(true, () => cache({ r: 'rt2' }));
    await p.beforeCacheAccess(context);
    table.beforeWrite = () => {
      table.set(cache({ r: 'x' }));
      table.read = async () => undefined;
    };
    await expect(p.afterCacheAccess(context)).rejects.toMatchObject({ code: 'session_ended' });
  });

  test('a row that keeps changing: 503 token_cache_contended after five attempts', async () => {
    table.set(cache({ r: 'rt1' }));
    const p = plugin();
    const { context } = msalContext(true, () => cache({ r: 'rt2' }));
    await p.beforeCacheAccess(context);
    table.beforeWrite = () => void table.set(cache({ r: 'x' }));
    await expect(p.afterCacheAccess(context)).rejects.toMatchObject({ status: 503, code: 'token_cache_contended' });
    expect(table.calls.filter((c) => c.startsWith('write'))).toHaveLength(5);
    expect(p.writes).toBe(0);
  });
});

describe('the cache as the row holds it now (what the caller learns token locations from)', () => {
  test('none before reading, none without a row, the row as read, then as written', async () => {
    expect(plugin().latestCache).toBeUndefined();
    const empty = plugin();
    await empty.beforeCacheAccess(msalContext(false).context);
    expect(empty.latestCache).toBeUndefined();

    table.set(cache({ r: 'rt1' }));
    const p = plugin();
    const { context } = msalContext(true, () => cache({ r: 'rt2' }));
    await p.beforeCacheAccess(context);
    expect(p.latestCache).toBe(cache({ r: 'rt1' }));
    await p.afterCacheAccess(context);
    expect(p.latestCache).toBe(cache({ r: 'rt2' }));
  });

  test('a row preloaded by the caller counts as found, with its ETag for the write', async () => {
    const p = plugin({ cache: cache({ r: 'rt1' }), etag: table.set(cache({ r: 'rt1' })), sessions: {} });
    const { context } = msalContext(true, () => cache({ r: 'rt2' }));
    await p.beforeCacheAccess(context);
    expect(p.rowFound).toBe(true);
    expect(p.latestCache).toBe(cache({ r: 'rt1' }));
    await p.afterCacheAccess(context);
    expect(table.calls).toEqual(['write "1"']);
    expect(p.writes).toBe(1);
  });

  test('an unreadable row is not the base: a change after it is not written over it (session ended)', async () => {
    table.set('{"Account":');
    const p = plugin();
    const { context } = msalContext(true, () => cache({ r: 'rt2' }));
    await p.beforeCacheAccess(context);
    expect(p.latestCache).toBeUndefined();
    await expect(p.afterCacheAccess(context)).rejects.toMatchObject({ code: 'session_ended' });
    expect(table.row!.cache).toBe('{"Account":');
  });
});

test('the session-ended problem says why: the tokens are gone', () => {
  expect(sessionEnded()).toMatchObject({ status: 401, code: 'session_ended', detail: 'The account\'s tokens are gone (signed out or expired).' });
});
