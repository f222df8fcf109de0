import type { Runtime } from '../../shared/runtime';
import { MemoryRows } from '../support/memoryRows';
import { partitionKeyFor } from '../../shared/tokenCache/tableStore';
import { MAX_SESSIONS_PER_ACCOUNT, nowSeconds, sessionKey, type SessionEntry } from '../../shared/session/lifetimes';
import { endProviderSession, endSessions, readLiveSession, recordSignIn, sessionEndedProblem } from '../../shared/session/sessionRecords';
import type { Session } from '../../shared/session/session';
import { ProblemError } from '../../shared/problems';

/**
 * The server-side session records, against the in-memory account rows of test/support/memoryRows.ts
 * (ETags as Table Storage keeps them), so conflicts can be staged.
 */
const lifetimes = { idleTimeoutSeconds: 3600, absoluteLifetimeSeconds: 86400 };
let rows: MemoryRows;
let runtime: Runtime;
// The clock stands still (Date only), so `now` in the code and in the expectations is one second.
beforeEach(() => {
  jest.useFakeTimers({ now: 1_800_000_000_000, doNotFake: ['nextTick', 'setImmediate', 'setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'queueMicrotask', 'performance', 'hrtime'] });
  rows = new MemoryRows();
  runtime = { config: { session: lifetimes }, tokenCache: rows } as unknown as Runtime;
});
afterEach(() => jest.useRealTimers());

const account = 'uid.utid';
const pk = partitionKeyFor(account);
const session = (sid: string): Session => ({ sid, homeAccountId: account, claims: {}, iat: 0, exp: 0 });
const entry = (ageSeconds: number, idleSeconds: number, providerSid?: string): SessionEntry => ({ ...(providerSid ? { providerSid } : {}), started: nowSeconds() - ageSeconds, lastSeen: nowSeconds() - idleSeconds });

describe('readLiveSession', () => {
  test('no row, no record for this session, or an expired record: no live session, nothing written', async () => {
    expect(await readLiveSession(runtime, session('a'), { slide: true })).toBeUndefined();
    rows.put(pk, { cache: '{}', sessions: { [sessionKey('b')]: entry(10, 10), [sessionKey('idle')]: entry(4000, 3601), [sessionKey('old')]: entry(86401, 10) }, expiresOn: new Date() });
    expect(await readLiveSession(runtime, session('a'), { slide: true })).toBeUndefined();
    expect(await readLiveSession(runtime, session('idle'), { slide: true })).toBeUndefined();
    expect(await readLiveSession(runtime, session('old'), { slide: true })).toBeUndefined();
    expect(rows.calls.filter((c) => c !== 'read')).toEqual([]);
  });

  test('a live record early in its idle window: read only, expiry the earlier of idle and absolute', async () => {
    const e = entry(86000, 10);
    const etag = rows.put(pk, { cache: '{}', sessions: { [sessionKey('a')]: e }, expiresOn: new Date() });
    const live = await readLiveSession(runtime, session('a'), { slide: true });
    expect(live).toMatchObject({ entry: e, row: { etag }, expiresAt: e.started + 86400, absoluteExpiresAt: e.started + 86400 });
    const young = entry(100, 10);
    rows.put(pk, { cache: '{}', sessions: { [sessionKey('a')]: young }, expiresOn: new Date() });
    expect(await readLiveSession(runtime, session('a'), { slide: true })).toMatchObject({ expiresAt: young.lastSeen + 3600, absoluteExpiresAt: young.started + 86400 });
    expect(rows.calls).toEqual(['read', 'read']);
  });

  test('past half its idle window: slid (lastSeen now), expired records dropped, new ETag; not with slide: false', async () => {
    const stale = entry(2000, 1900, 'psid');
    rows.put(pk, { cache: '{}', sessions: { [sessionKey('a')]: stale, [sessionKey('other')]: entry(10, 10), [sessionKey('gone')]: entry(5000, 3700) }, expiresOn: new Date() });
    expect(await readLiveSession(runtime, session('a'), { slide: false })).toMatchObject({ entry: stale });
    expect(rows.calls).toEqual(['read']);

    const live = await readLiveSession(runtime, session('a'), { slide: true });
    const stored = rows.rows.get(pk)!;
    expect(live!.row.etag).toBe(stored.etag);
    expect(live!.entry).toEqual({ ...stale, lastSeen: nowSeconds() });
    expect(live!.expiresAt).toBe(nowSeconds() + 3600);
    expect(Object.keys(stored.sessions).sort()).toEqual([sessionKey('a'), sessionKey('other')].sort());
    expect(stored.sessions[sessionKey('a')]).toEqual({ providerSid: 'psid', started: stale.started, lastSeen: nowSeconds() });
    expect(live!.row.sessions).toEqual(stored.sessions);
    // The row's expiry follows its latest session.
    expect(stored.expiresOn.getTime()).toBe((nowSeconds() + 3600) * 1000);
  });

  test('a slide that loses to another writer goes on with the row and record it read', async () => {
    const stale = entry(2000, 1900);
    const etag = rows.put(pk, { cache: '{}', sessions: { [sessionKey('a')]: stale }, expiresOn: new Date() });
    rows.beforeWrite = (key) => rows.put(key, { ...rows.rows.get(key)! });
    const live = await readLiveSession(runtime, session('a'), { slide: true });
    expect(live).toMatchObject({ entry: stale, row: { etag } });
    expect(rows.calls).toEqual(['read', 'writeSessions']);
  });

  test('a row that needs sealing again is replaced whole over the version read, with its live sessions only', async () => {
    const e = entry(10, 10);
    const etag = rows.put(pk, { cache: '{"k":1}', sessions: { [sessionKey('a')]: e, [sessionKey('gone')]: entry(5000, 3700) }, expiresOn: new Date(), needsReseal: true });
    const live = await readLiveSession(runtime, session('a'), { slide: true });
    expect(rows.calls).toEqual(['read', 'replaceRow if-match']);
    const stored = rows.rows.get(pk)!;
    expect(stored.etag).not.toBe(etag);
    expect(stored.cache).toBe('{"k":1}');
    expect(stored.sessions).toEqual({ [sessionKey('a')]: e });
    expect(live!.row).toEqual({ cache: '{"k":1}', etag: stored.etag, sessions: { [sessionKey('a')]: e } });
  });

  test('a reseal that conflicts keeps the row as read', async () => {
    const e = entry(10, 10);
    const etag = rows.put(pk, { cache: '{}', sessions: { [sessionKey('a')]: e }, expiresOn: new Date(), needsReseal: true });
    rows.beforeWrite = (key) => rows.put(key, { ...rows.rows.get(key)! });
    const live = await readLiveSession(runtime, session('a'), { slide: true });
    expect(live!.row).toMatchObject({ etag, needsReseal: true });
  });
});

describe('recordSignIn', () => {
  test('a first sign-in creates the row with its one session', async () => {
    await recordSignIn(runtime, account, 'new', 'psid', '{"c":1}');
    expect(rows.calls).toEqual(['read', 'replaceRow create']);
    const stored = rows.rows.get(pk)!;
    expect(stored.cache).toBe('{"c":1}');
    expect(stored.sessions).toEqual({ [sessionKey('new')]: { providerSid: 'psid', started: nowSeconds(), lastSeen: nowSeconds() } });
    expect(stored.expiresOn.getTime()).toBe((nowSeconds() + 3600) * 1000);
  });

  test('without a provider sid the record has none', async () => {
    await recordSignIn(runtime, account, 'new', undefined, '{}');
    expect(rows.rows.get(pk)!.sessions[sessionKey('new')]).toEqual({ started: nowSeconds(), lastSeen: nowSeconds() });
  });

  test('keeps the live sessions of other sign-ins, drops expired ones, over the version read', async () => {
    rows.put(pk, { cache: 'old', sessions: { [sessionKey('other')]: entry(10, 10, 'p1'), [sessionKey('gone')]: entry(5000, 3700) }, expiresOn: new Date() });
    await recordSignIn(runtime, account, 'new', undefined, 'fresh');
    expect(rows.calls).toEqual(['read', 'replaceRow if-match']);
    const stored = rows.rows.get(pk)!;
    expect(stored.cache).toBe('fresh');
    expect(Object.keys(stored.sessions).sort()).toEqual([sessionKey('new'), sessionKey('other')].sort());
  });

  test(`keeps at most ${MAX_SESSIONS_PER_ACCOUNT} sessions: the newest others and the new one`, async () => {
    const many: Record<string, SessionEntry> = {};
    for (let i = 0; i < MAX_SESSIONS_PER_ACCOUNT + 5; i++) many[sessionKey(`s${i}`)] = entry(100, i + 1);
    rows.put(pk, { cache: 'old', sessions: many, expiresOn: new Date() });
    await recordSignIn(runtime, account, 'new', undefined, 'fresh');
    const kept = Object.keys(rows.rows.get(pk)!.sessions);
    expect(kept).toHaveLength(MAX_SESSIONS_PER_ACCOUNT);
    expect(kept).toContain(sessionKey('new'));
    expect(kept).toContain(sessionKey('s0'));
    expect(kept).toContain(sessionKey(`s${MAX_SESSIONS_PER_ACCOUNT - 2}`));
    expect(kept).not.toContain(sessionKey(`s${MAX_SESSIONS_PER_ACCOUNT - 1}`));
  });

  test('a concurrent writer: read again and write over the new version', async () => {
    rows.put(pk, { cache: 'old', sessions: {}, expiresOn: new Date() });
    let bumps = 1;
    rows.beforeWrite = (key) => {
      if (bumps-- > 0) rows.put(key, { ...rows.rows.get(key)!, sessions: { [sessionKey('raced')]: entry(5, 5) } });
    };
    await recordSignIn(runtime, account, 'new', undefined, 'fresh');
    expect(rows.calls).toEqual(['read', 'replaceRow if-match', 'read', 'replaceRow if-match']);
    expect(Object.keys(rows.rows.get(pk)!.sessions).sort()).toEqual([sessionKey('new'), sessionKey('raced')].sort());
  });

  test('a row that exists but cannot be read: create conflicts twice, the last attempt replaces whatever is there', async () => {
    const unreadable = new MemoryRows();
    runtime = { config: { session: lifetimes }, tokenCache: unreadable } as unknown as Runtime;
    unreadable.put(pk, { cache: 'garbage', sessions: {}, expiresOn: new Date() });
    unreadable.read = async () => {
      unreadable.calls.push('read');
      return undefined;
    };
    await recordSignIn(runtime, account, 'new', undefined, 'fresh');
    expect(unreadable.calls).toEqual(['read', 'replaceRow create', 'read', 'replaceRow create', 'read', 'replaceRow any']);
    expect(unreadable.rows.get(pk)!.cache).toBe('fresh');
  });

  test('a row that keeps changing: 503 token_cache_contended after three attempts', async () => {
    rows.put(pk, { cache: 'old', sessions: {}, expiresOn: new Date() });
    rows.beforeWrite = (key) => rows.put(key, { ...rows.rows.get(key)! });
    const failure = await recordSignIn(runtime, account, 'new', undefined, 'fresh').catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(ProblemError);
    expect(failure).toMatchObject({ status: 503, code: 'token_cache_contended' });
    expect(rows.calls.filter((c) => c === 'read')).toHaveLength(3);
  });
});

describe('endSessions', () => {
  test('no row, or no live session that matches: nothing ends, nothing is written', async () => {
    expect(await endProviderSession(runtime, pk, 'psid')).toBe(0);
    rows.put(pk, { cache: '{}', sessions: { [sessionKey('a')]: entry(10, 10, 'other'), [sessionKey('gone')]: entry(5000, 3700, 'psid') }, expiresOn: new Date() });
    expect(await endProviderSession(runtime, pk, 'psid')).toBe(0);
    expect(rows.calls).toEqual(['read', 'read']);
  });

  test('ends the matching sessions and keeps the others, over the version read', async () => {
    rows.put(pk, { cache: '{}', sessions: { [sessionKey('a')]: entry(10, 10, 'psid'), [sessionKey('b')]: entry(10, 10, 'psid'), [sessionKey('c')]: entry(10, 10, 'other') }, expiresOn: new Date() });
    expect(await endProviderSession(runtime, pk, 'psid')).toBe(2);
    expect(Object.keys(rows.rows.get(pk)!.sessions)).toEqual([sessionKey('c')]);
    expect(rows.calls).toEqual(['read', 'writeSessions']);
  });

  test('when no session is left the row (and its tokens) is deleted', async () => {
    rows.put(pk, { cache: '{}', sessions: { [sessionKey('a')]: entry(10, 10, 'psid'), [sessionKey('b')]: entry(10, 10) }, expiresOn: new Date() });
    expect(await endSessions(runtime, pk, () => true)).toBe(2);
    expect(rows.rows.has(pk)).toBe(false);
    expect(rows.calls).toEqual(['read', 'delete']);
  });

  test('a delete that loses to another writer reads again', async () => {
    rows.put(pk, { cache: '{}', sessions: { [sessionKey('a')]: entry(10, 10) }, expiresOn: new Date() });
    rows.deleteFails = 1;
    expect(await endSessions(runtime, pk, () => true)).toBe(1);
    expect(rows.calls).toEqual(['read', 'delete', 'read', 'delete']);
  });

  test('a sessions write that conflicts reads again; a row gone meanwhile ends nothing', async () => {
    rows.put(pk, { cache: '{}', sessions: { [sessionKey('a')]: entry(10, 10, 'psid'), [sessionKey('b')]: entry(10, 10) }, expiresOn: new Date() });
    let bumps = 1;
    rows.beforeWrite = (key) => {
      if (bumps-- > 0) rows.put(key, { ...rows.rows.get(key)! });
    };
    expect(await endProviderSession(runtime, pk, 'psid')).toBe(1);
    expect(rows.calls).toEqual(['read', 'writeSessions', 'read', 'writeSessions']);

    rows.put(pk, { cache: '{}', sessions: { [sessionKey('a')]: entry(10, 10, 'psid'), [sessionKey('b')]: entry(10, 10) }, expiresOn: new Date() });
    rows.beforeWrite = (key) => rows.rows.delete(key);
    expect(await endProviderSession(runtime, pk, 'psid')).toBe(0);
  });

  test('a row that keeps changing: 503 token_cache_contended after three attempts', async () => {
    rows.put(pk, { cache: '{}', sessions: { [sessionKey('a')]: entry(10, 10, 'psid'), [sessionKey('b')]: entry(10, 10) }, expiresOn: new Date() });
    rows.beforeWrite = (key) => rows.put(key, { ...rows.rows.get(key)! });
    const failure = await endProviderSession(runtime, pk, 'psid').catch((e: unknown) => e);
    expect(failure).toMatchObject({ status: 503, code: 'token_cache_contended' });
    expect(rows.calls.filter((c) => c === 'read')).toHaveLength(3);
  });
});

test('a session whose record is gone: 401 session_ended with the loginUrl', () => {
  const problem = sessionEndedProblem('/api/login?returnUrl=%2F');
  expect(problem).toMatchObject({ status: 401, code: 'session_ended', extensions: { loginUrl: '/api/login?returnUrl=%2F' } });
  expect(problem.detail).toMatch(/ended/);
});
