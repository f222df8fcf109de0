import { startLocalStack, type LocalStack } from '../../dev/stack';
import { CookieJar, expectNoSecrets, proxyCall, send, signIn } from '../support/browserless';
import { cacheTable, deleteCacheRow, expireAccessTokens, readCacheRow } from '../support/cacheRows';

/**
 * The whole data walk over real HTTP: the local Functions host, Azurite, the dev OpenID
 * provider over HTTPS and the demo API. Nothing is mocked.
 */
let stack: LocalStack;

beforeAll(async () => {
  stack = await startLocalStack({ settings: {}, port: 0, log: () => {} });
  // Created up front so the counts below are those of a running app, not of its first write.
  await cacheTable(stack).createTable();
});
afterAll(async () => {
  await stack?.close();
});

async function tableCalls() {
  return { ...(await stack.runtime.get()).tableCalls };
}

function delta(after: Record<string, number>, before: Record<string, number>) {
  return Object.fromEntries(Object.keys(after).map((k) => [k, after[k]! - before[k]!]));
}

test('sign in, see who I am, call the API, refresh, sign out', async () => {
  const jar = new CookieJar();

  // Sign-in: one read (the account's other sessions), the row, and the links from the provider's sid and sub (it sends back-channel logout).
  let before = await tableCalls();
  const back = await signIn(stack.appUrl, jar, { returnUrl: '/orders?id=7' });
  expect(back.headers.get('location')).toBe('/orders?id=7');
  const setCookies = back.headers.getSetCookie();
  const session = setCookies.find((c) => c.startsWith('__Host-th.session='))!;
  expect(session).toMatch(/; Path=\//);
  expect(session).toMatch(/; HttpOnly/);
  expect(session).toMatch(/; Secure/);
  expect(session).toMatch(/; SameSite=Lax/);
  expect(session).not.toMatch(/Domain=/i);
  expect(setCookies.some((c) => c.startsWith('__Host-th.authreq=;') && /Max-Age=0/.test(c))).toBe(true);
  expect(delta(await tableCalls(), before)).toMatchObject({ reads: 1, writes: 3 });
  const row = await readCacheRow(stack);
  expect(Object.keys(row!.cache['RefreshToken']!)).toHaveLength(1);

  // /api/me: claims and expiry, never a token.
  const me = await send(`${stack.appUrl}/api/me`, jar);
  expect(me.status).toBe(200);
  const meText = await me.text();
  expectNoSecrets(meText);
  const meBody = JSON.parse(meText);
  expect(meBody.claims).toMatchObject({ name: 'Ada Lovelace', preferred_username: 'ada@contoso.dev' });
  expect(Date.parse(meBody.session.expiresAt)).toBeGreaterThan(Date.now());
  expect(meBody.logoutUrl).toMatch(/^\/api\/logout\?sid=/);

  // First call to the API: the access token is acquired with the refresh token (one resource per request).
  const idpTokenCalls = () => stack.idp!.stats.grants.refresh_token;
  before = await tableCalls();
  let refreshes = idpTokenCalls();
  const first = await proxyCall(stack.appUrl, jar, 'demo/profile');
  expect(first.status).toBe(200);
  expect(await first.json()).toMatchObject({ user: { name: 'Ada Lovelace' } });
  expect(idpTokenCalls() - refreshes).toBe(1);
  // The refresh: the row's read; the refresh lease's insert, the row's read again under the lease (its refresh token still current?) and the row's write; the lease's release.
  expect(delta(await tableCalls(), before)).toMatchObject({ reads: 2, writes: 2, deletes: 1 });

  // With a valid access token: one point read, no write, no provider call.
  before = await tableCalls();
  refreshes = idpTokenCalls();
  const tokenRequestsBefore = stack.idp!.stats.requests.token;
  for (let i = 0; i < 3; i++) expect((await proxyCall(stack.appUrl, jar, 'demo/profile')).status).toBe(200);
  expect(delta(await tableCalls(), before)).toMatchObject({ reads: 3, writes: 0, deletes: 0 });
  expect(stack.idp!.stats.requests.token - tokenRequestsBefore).toBe(0);

  // The access token expires: MSAL redeems the refresh token and the row is written back (If-Match).
  const beforeExpiry = await readCacheRow(stack);
  await expireAccessTokens(stack);
  before = await tableCalls();
  refreshes = idpTokenCalls();
  const refreshed = await proxyCall(stack.appUrl, jar, 'demo/profile');
  expect(refreshed.status).toBe(200);
  expect(idpTokenCalls() - refreshes).toBe(1);
  // The read, the lease, the read under the lease and the row's write, the lease's release.
  expect(delta(await tableCalls(), before)).toMatchObject({ reads: 2, writes: 2, deletes: 1 });
  const afterRefresh = await readCacheRow(stack);
  const demoToken = (row: typeof afterRefresh) => Object.values(row!.cache['AccessToken']!).find((t) => t['target']!.includes('demo-api'))!;
  expect(Number(demoToken(afterRefresh)['expires_on'])).toBeGreaterThan(Date.now() / 1000);
  expect(demoToken(afterRefresh)['secret']).not.toBe(demoToken(beforeExpiry)['secret']);

  // Sign out through the logoutUrl of /api/me: the row goes, the cookie is cleared, the provider is told.
  const stolenCopy = jar.clone();
  const out = await send(`${stack.appUrl}${meBody.logoutUrl}`, jar);
  expect(out.status).toBe(302);
  const endSession = new URL(out.headers.get('location')!);
  expect(endSession.origin).toBe(stack.idp!.browserOrigin);
  expect(endSession.searchParams.get('post_logout_redirect_uri')).toBe(`${stack.appUrl}/api/`);
  expect(out.headers.getSetCookie().some((c) => c.startsWith('__Host-th.session=;'))).toBe(true);
  expect(await readCacheRow(stack)).toBeUndefined();

  // Any copy of the old cookie: the proxy refuses it with 401 and a loginUrl.
  const after = await proxyCall(stack.appUrl, stolenCopy, 'demo/profile');
  expect(after.status).toBe(401);
  expect(after.headers.get('content-type')).toBe('application/problem+json');
  expect(await after.json()).toMatchObject({ code: 'session_ended', loginUrl: expect.stringMatching(/^\/api\/login\?/) });
  expect((await send(`${stack.appUrl}/api/me`, jar)).status).toBe(401);
});

test('the proxy forwards method, path, query, body and safe headers only, and drops Set-Cookie', async () => {
  const jar = new CookieJar();
  await signIn(stack.appUrl, jar);
  const echoed = await proxyCall(stack.appUrl, jar, 'demo/echo/a%20b/c?x=1&y=two', {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: 'Basic c2VjcmV0', 'x-custom': 'no', accept: 'application/json' },
    body: JSON.stringify({ hello: 'world' }),
  });
  expect(echoed.status).toBe(200);
  const body = (await echoed.json()) as { method: string; path: string; query: Record<string, string>; body: string; headers: Record<string, unknown> };
  expect(body.method).toBe('POST');
  expect(body.path).toBe('/echo/a%20b/c');
  expect(body.query).toMatchObject({ x: '1', y: 'two' });
  expect(body.body).toBe('{"hello":"world"}');
  expect(body.headers.authorization).toBe('Bearer <redacted>');
  expect(body.headers.cookie).toBeFalsy();
  expect(body.headers['x-custom']).toBeUndefined();
  expect(body.headers['x-csrf']).toBeUndefined();

  const withCookie = await proxyCall(stack.appUrl, jar, 'demo/set-cookie');
  expect(withCookie.status).toBe(200);
  expect(withCookie.headers.getSetCookie()).toEqual([]);

  const status = await proxyCall(stack.appUrl, jar, 'demo/status/418');
  expect(status.status).toBe(418);
});

test('a cache row deleted under a live session answers 401 with loginUrl, not 500', async () => {
  const jar = new CookieJar();
  await signIn(stack.appUrl, jar, { username: 'grace@contoso.dev' });
  expect((await proxyCall(stack.appUrl, jar, 'demo/profile')).status).toBe(200);
  await deleteCacheRow(stack, 'grace@contoso.dev');
  const answer = await proxyCall(stack.appUrl, jar, 'demo/profile');
  expect(answer.status).toBe(401);
  const problem = await answer.json();
  expect(problem).toMatchObject({ code: 'session_ended', loginUrl: expect.stringContaining('/api/login?') });
  expect(await readCacheRow(stack, 'grace@contoso.dev')).toBeUndefined();
});
