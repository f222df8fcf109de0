import { REFRESH_LEASE_MS } from '../../shared/auth/refreshLease';
import { partitionKeyFor, toEntity } from '../../shared/tokenCache/tableStore';
import { CookieJar, proxyCall, signIn } from '../support/browserless';
import { cacheTable, expireAccessTokens, homeAccountIdOf, readCacheRow } from '../support/cacheRows';
import { ADA, GRACE, MARGIN_MS, startTwoApps, type FaultApp, type FaultStack } from './support/faultStack';
import { outcome, timed, waitFor } from './support/calls';
import { recordFigure } from './support/figures';

/**
 * Refreshes across two app processes on one Table and one provider that rotates refresh tokens
 * (each usable once): a stampede of one account's calls, rows that do not decode, and an
 * instance killed while it holds the account's refresh lease.
 */
let stack: FaultStack;
let a: FaultApp;
let b: FaultApp;

beforeAll(async () => {
  ({ stack, a, b } = await startTwoApps({ singleUseRefreshTokens: true }));
});
afterAll(async () => {
  await stack?.close();
});

/** What one process did for the proxy calls it logged after `from`: calls, errors, calls that reached the provider. */
function proxyCounts(app: FaultApp, from: number): { calls: number; errors: number; refreshes: number } {
  const lines = app.requests().slice(from).filter((line) => line.function === 'proxy');
  return {
    calls: lines.length,
    errors: lines.filter((line) => line.status !== 200).length,
    refreshes: lines.reduce((sum, line) => sum + (line.dependencies['provider']?.calls ?? 0), 0),
  };
}

test('50 concurrent calls of one account across 2 processes, token expired: 0 errors, at most 2 provider refreshes, the session survives rotation', async () => {
  const jar = new CookieJar();
  await signIn(a.url, jar, { username: ADA });
  for (const app of [a, b]) expect((await proxyCall(app.url, jar, 'demo/profile')).status).toBe(200);

  for (let round = 1; round <= 2; round++) {
    await expireAccessTokens(stack.rows, ADA);
    const before = stack.idp.stats.grants.refresh_token;
    // The app's own calls to the provider: token requests, and the metadata a process reads the
    // first time it builds MSAL (a process whose calls were all served from the row has not yet).
    const appCallsBefore = stack.idp.stats.requests.token + stack.idp.stats.requests.discovery;
    const logged = { a: a.requests().length, b: b.requests().length };
    const answers = await Promise.all(Array.from({ length: 50 }, (_, i) => timed(() => proxyCall(i % 2 === 0 ? a.url : b.url, jar, 'demo/profile'))));
    const refreshes = stack.idp.stats.grants.refresh_token - before;
    const appCalls = stack.idp.stats.requests.token + stack.idp.stats.requests.discovery - appCallsBefore;
    // Each process writes its request line before the answer leaves it: all 25 are there.
    const perProcess = { a: proxyCounts(a, logged.a), b: proxyCounts(b, logged.b) };
    const errors = answers.filter((answer) => answer.status !== 200);
    recordFigure({
      table: 'stampede',
      what: `round ${round}`,
      answer: `50 / ${errors.length} / ${refreshes} at the provider (process a: ${perProcess.a.calls} / ${perProcess.a.errors} / ${perProcess.a.refreshes}; process b: ${perProcess.b.calls} / ${perProcess.b.errors} / ${perProcess.b.refreshes})`,
    });
    expect(errors.map(outcome)).toEqual([]);
    expect(perProcess.a.calls + perProcess.b.calls).toBe(50);
    expect(refreshes).toBeGreaterThanOrEqual(1);
    expect(refreshes).toBeLessThanOrEqual(2);
    // Every call that reached the provider is in a request line of the process that made it.
    expect(perProcess.a.refreshes + perProcess.b.refreshes).toBe(appCalls);
  }
});

test.each([
  ['truncated JSON', (json: string) => json.slice(0, Math.floor(json.length / 2))],
  ['JSON of the wrong shape', () => JSON.stringify({ Account: 'not an object', AccessToken: [1, 2, 3], RefreshToken: null })],
])('a row whose cache is %s reads as 401 with loginUrl on both processes; the next sign-in replaces it', async (_kind, corrupt) => {
  const jar = new CookieJar();
  await signIn(b.url, jar, { username: GRACE });
  expect((await proxyCall(a.url, jar, 'demo/profile')).status).toBe(200);

  // Sealed with the app's key, so only the content is wrong; a merge keeps the session records.
  const row = (await readCacheRow(stack.rows, GRACE))!;
  const cipher = (await stack.rows.runtime.get()).tokenCache.cipher;
  const entity = toEntity(partitionKeyFor(homeAccountIdOf(GRACE)), corrupt(JSON.stringify(row.cache)), new Date(Date.now() + 3600_000), cipher);
  delete entity['ExpiresOn'];
  await cacheTable(stack.rows).updateEntity(entity, 'Merge', { etag: row.etag });

  for (const app of [a, b]) {
    const answer = await timed(() => proxyCall(app.url, jar, 'demo/profile'));
    expect({ app: app.name, status: answer.status, code: answer.body['code'] }).toEqual({ app: app.name, status: 401, code: 'session_ended' });
    expect(answer.body['loginUrl']).toEqual(expect.stringContaining('/api/login'));
    // Logged with its code and the row's key, never its content.
    expect(app.output()).toContain(`token_cache_row_unreadable: row ${partitionKeyFor(homeAccountIdOf(GRACE))}`);
  }

  const again = new CookieJar();
  await signIn(a.url, again, { username: GRACE });
  for (const app of [a, b]) expect((await proxyCall(app.url, again, 'demo/profile')).status).toBe(200);
  // The row decodes again: a sign-in wrote a whole cache over the broken one.
  expect(Object.keys((await readCacheRow(stack.rows, GRACE))!.cache['RefreshToken'] ?? {})).toHaveLength(1);
});

test('a process killed while it holds the refresh lease blocks the other no longer than the lease', async () => {
  const jar = new CookieJar();
  await signIn(a.url, jar, { username: ADA });
  expect((await proxyCall(b.url, jar, 'demo/profile')).status).toBe(200);
  await expireAccessTokens(stack.rows, ADA);

  // a takes the lease and sends the refresh; the provider holds it, so a is mid-refresh.
  const tokenRequests = stack.idp.stats.requests.token;
  stack.idp.controls.holdTokenRequests(true);
  const stranded = proxyCall(a.url, jar, 'demo/profile').then(
    (response) => response.status,
    () => 'no answer' as const,
  );
  const table = (await stack.rows.runtime.get()).tokenCache;
  const partitionKey = partitionKeyFor(homeAccountIdOf(ADA));
  const lease = await waitFor('a holds the lease and its refresh reached the provider', 15_000, async () =>
    stack.idp.stats.requests.token > tokenRequests ? await table.readRefreshLease(partitionKey) : undefined,
  );
  await a.kill();
  expect(await stranded).toBe('no answer');
  stack.idp.controls.holdTokenRequests(false);

  // b waits for the dead holder's lease to run out, then refreshes itself.
  const leaseLeftMs = lease.expiresAt - Date.now();
  const answer = await timed(() => proxyCall(b.url, jar, 'demo/profile'));
  recordFigure({ table: 'time to answer', what: `refresh lease held by a killed process (lease ${REFRESH_LEASE_MS} ms, ${Math.round(leaseLeftMs)} ms left)`, answer: outcome(answer), ms: answer.ms, boundMs: Math.round(leaseLeftMs + MARGIN_MS) });
  expect(outcome(answer)).toBe('200');
  expect(answer.ms).toBeLessThanOrEqual(leaseLeftMs + MARGIN_MS);
  // The session is intact: the refresh b made is in the row, and the next call comes from it.
  expect((await timed(() => proxyCall(b.url, jar, 'demo/profile'))).status).toBe(200);
});
