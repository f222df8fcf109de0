import { startLocalStack, type LocalStack } from '../../dev/stack';
import { CookieJar, proxyCall, send, signIn } from '../support/browserless';
import { cacheTable, readCacheRow } from '../support/cacheRows';
import { ageSessions, readSessionRecords } from '../support/sessionRows';

/**
 * Server-side session records and lifetimes, through the real functions over HTTP (local
 * host, Azurite, dev provider, demo API). Time is moved by rewriting the row's session
 * records, as an outsider with Table access would, never by sleeping.
 */
const IDLE = 60 * 60;
const ABSOLUTE = 8 * 60 * 60;
let stack: LocalStack;

beforeAll(async () => {
  stack = await startLocalStack({ settings: { Session__IdleTimeout: 'PT1H', Session__AbsoluteLifetime: '08:00:00' }, port: 0, log: () => {} });
  await cacheTable(stack).createTable();
});
afterAll(async () => {
  await stack?.close();
});

async function writes(): Promise<number> {
  return (await stack.runtime.get()).tableCalls.writes;
}

/**
 * An expiry set by a request made between `from` and `to`: one idle window after it, bracketed
 * by the clock read before and after (whole seconds), so a slow machine cannot make it fail.
 */
function expectWithinIdleWindow(expiresAt: number, from: number, to: number): void {
  expect(expiresAt).toBeGreaterThanOrEqual(Math.floor(from / 1000) * 1000 + IDLE * 1000);
  expect(expiresAt).toBeLessThanOrEqual(Math.ceil(to / 1000) * 1000 + IDLE * 1000);
}

async function me(jar: CookieJar, query = ''): Promise<Response> {
  return send(`${stack.appUrl}/api/me${query}`, jar);
}

test('after sign-out every copy of the cookie, and every other session of the account, gets 401 from /api/me and the proxy', async () => {
  const laptop = new CookieJar();
  const phone = new CookieJar();
  const other = new CookieJar();
  await signIn(stack.appUrl, laptop);
  await signIn(stack.appUrl, phone);
  await signIn(stack.appUrl, other, { username: 'grace@contoso.dev' });
  expect(Object.keys((await readSessionRecords(stack))!.sessions)).toHaveLength(2);
  expect((await proxyCall(stack.appUrl, phone, 'demo/profile')).status).toBe(200);

  const stolen = laptop.clone();
  const { logoutUrl } = (await (await me(laptop)).json()) as { logoutUrl: string };
  expect((await send(`${stack.appUrl}${logoutUrl}`, laptop)).status).toBe(302);

  for (const jar of [stolen, phone]) {
    const answer = await me(jar);
    expect(answer.status).toBe(401);
    expect(await answer.json()).toMatchObject({ code: 'session_ended', loginUrl: expect.stringMatching(/^\/api\/login\?/) });
    const proxied = await proxyCall(stack.appUrl, jar, 'demo/profile');
    expect(proxied.status).toBe(401);
    expect(await proxied.json()).toMatchObject({ code: 'session_ended' });
  }
  expect(await readCacheRow(stack)).toBeUndefined();
  // Another account is untouched.
  expect((await me(other)).status).toBe(200);
  expect((await proxyCall(stack.appUrl, other, 'demo/profile')).status).toBe(200);
});

test('a session whose record was removed from the row reads as signed out, the others stay', async () => {
  const a = new CookieJar();
  const b = new CookieJar();
  await signIn(stack.appUrl, a);
  await signIn(stack.appUrl, b);
  const row = (await readSessionRecords(stack))!;
  const [newest] = Object.entries(row.sessions).sort(([, x], [, y]) => y.started - x.started || 1);
  // An administrator removes one session: drop one record, keep the other.
  const kept = Object.fromEntries(Object.entries(row.sessions).filter(([key]) => key !== newest![0]));
  const { serializeSessions } = await import('../../shared/session/lifetimes');
  const { partitionKeyFor, ROW_KEY } = await import('../../shared/tokenCache/tableStore');
  const { homeAccountIdOf } = await import('../support/cacheRows');
  await cacheTable(stack).updateEntity({ partitionKey: partitionKeyFor(homeAccountIdOf()), rowKey: ROW_KEY, Sessions: serializeSessions(kept) }, 'Merge', { etag: row.etag });
  const statuses = [(await me(a)).status, (await me(b)).status].sort();
  expect(statuses).toEqual([200, 401]);
  await send(`${stack.appUrl}/api/logout`, a, { method: 'POST', headers: { 'x-csrf': '1' } });
});

test('the idle timeout ends a session nobody used; the absolute lifetime ends a busy one', async () => {
  const jar = new CookieJar();
  await signIn(stack.appUrl, jar);
  expect((await me(jar)).status).toBe(200);
  await ageSessions(stack, { idleSeconds: IDLE + 5 });
  expect((await me(jar)).status).toBe(401);
  expect((await proxyCall(stack.appUrl, jar, 'demo/profile')).status).toBe(401);

  const busy = new CookieJar();
  await signIn(stack.appUrl, busy);
  // Started almost 8 hours ago, used a minute ago: still in, and its expiry is the absolute one.
  await ageSessions(stack, { startedSeconds: ABSOLUTE - 120, idleSeconds: 60 });
  const answer = await me(busy);
  expect(answer.status).toBe(200);
  const body = (await answer.json()) as { session: { expiresAt: string; absoluteExpiresAt: string } };
  expect(body.session.expiresAt).toBe(body.session.absoluteExpiresAt);
  await ageSessions(stack, { startedSeconds: 180 });
  expect((await me(busy)).status).toBe(401);
  expect((await proxyCall(stack.appUrl, busy, 'demo/profile')).status).toBe(401);
});

test('/api/me slides the idle window once more than half of it has passed, at most one write per half window; slide=false never extends', async () => {
  const jar = new CookieJar();
  const signInStarted = Date.now();
  await signIn(stack.appUrl, jar, { username: 'grace@contoso.dev' });
  const fresh = (await (await me(jar)).json()) as { session: { expiresAt: string } };
  expectWithinIdleWindow(Date.parse(fresh.session.expiresAt), signInStarted, Date.now());
  const grace = 'grace@contoso.dev';

  // Less than half the window gone: no write.
  await ageSessions(stack, { idleSeconds: IDLE / 2 - 60 }, grace);
  let before = await writes();
  expect((await me(jar)).status).toBe(200);
  expect((await proxyCall(stack.appUrl, jar, 'demo/profile')).status).toBe(200);
  const afterFirstToken = await writes();
  // The proxy's first call for the API takes the refresh lease and writes the new access token, nothing for the session.
  expect(afterFirstToken - before).toBe(2);

  // More than half gone: a poller asking slide=false does not extend it...
  await ageSessions(stack, { idleSeconds: 120 }, grace);
  const aged = (await readSessionRecords(stack, grace))!;
  before = await writes();
  const polled = (await (await me(jar, '?slide=false')).json()) as { session: { expiresAt: string } };
  expect(await writes()).toBe(before);
  expect(Date.parse(polled.session.expiresAt)).toBeLessThan(Date.now() + (IDLE / 2) * 1000);

  // ...a real request does, with one write, and moves the row's expiry with it.
  const slideStarted = Date.now();
  const slid = (await (await me(jar)).json()) as { session: { expiresAt: string } };
  expect(await writes()).toBe(before + 1);
  expectWithinIdleWindow(Date.parse(slid.session.expiresAt), slideStarted, Date.now());
  const after = (await readSessionRecords(stack, grace))!;
  expect(after.expiresOn.getTime()).toBe(Date.parse(slid.session.expiresAt));
  const latest = (r: typeof after) => Math.max(...Object.values(r.sessions).map((e) => e.lastSeen));
  expect(latest(after)).toBeGreaterThan(latest(aged));

  // Right after a slide, a burst of requests writes nothing.
  before = await writes();
  for (let i = 0; i < 5; i++) {
    expect((await me(jar)).status).toBe(200);
    expect((await proxyCall(stack.appUrl, jar, 'demo/profile')).status).toBe(200);
  }
  expect(await writes()).toBe(before);
});

test('the row expires with its last session, from the lifetimes, not after a fixed 90 days', async () => {
  const jar = new CookieJar();
  const started = Date.now();
  await signIn(stack.appUrl, jar);
  const row = (await readSessionRecords(stack))!;
  expectWithinIdleWindow(row.expiresOn.getTime(), started, Date.now());
});
