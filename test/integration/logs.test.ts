import { startLocalStack, type LocalStack } from '../../dev/stack';
import { captureLogLines, safe, traceparentOrNew } from '../../shared/log';
import { CookieJar, postBack, proxyCall, send, signIn, signInAtProvider } from '../support/browserless';
import { cacheTable, expireAccessTokens, readCacheRow } from '../support/cacheRows';

/**
 * The log lines the app writes while it signs users in, calls the API, refreshes and signs out,
 * captured from the real stack (local host, Azurite, the dev provider over HTTPS, the demo API):
 * one JSON line per request and per notable event, correlated, and never a token, code,
 * cookie, secret or claim set.
 */
let stack: LocalStack;
let consentStack: LocalStack;
const lines: string[] = [];

beforeAll(async () => {
  captureLogLines((line) => lines.push(line));
  stack = await startLocalStack({ settings: {}, port: 0, log: () => {} });
  await cacheTable(stack).createTable();
});
afterAll(async () => {
  captureLogLines(undefined);
  await stack?.close();
  await consentStack?.close();
});

type Line = Record<string, unknown> & { type: 'request' | 'event'; event?: string; function?: string; status?: number; token?: string; dependencies?: Record<string, { calls: number }> };
const parsed = (): Line[] => lines.map((line) => JSON.parse(line) as Line);
const requests = (fn: string) => parsed().filter((l) => l.type === 'request' && l.function === fn);
const events = (name: string) => parsed().filter((l) => l.type === 'event' && l.event === name);

test('one line per request and per event, correlated, and nothing secret in any of them', async () => {
  const secrets: string[] = [];
  const jar = new CookieJar();

  // A failed sign-in: a provider answer whose state does not match.
  const stale = await signInAtProvider(stack.appUrl, jar);
  secrets.push(stale.fields['code']!, stale.fields['state']!, jar.get('__Host-th.authreq')!);
  const refused = await postBack({ ...stale, fields: { ...stale.fields, state: 'not-the-state' } }, jar);
  expect(refused.status).toBe(400);

  // A sign-in whose code and cookies we keep, to look for them afterwards.
  const answer = await signInAtProvider(stack.appUrl, jar, { returnUrl: '/x' });
  secrets.push(answer.fields['code']!, answer.fields['state']!, jar.get('__Host-th.authreq')!);
  const back = await postBack(answer, jar);
  expect(back.status).toBe(302);
  secrets.push(jar.get('__Host-th.session')!);

  expect((await send(`${stack.appUrl}/api/me`, jar, { headers: { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' } })).status).toBe(200);
  expect((await proxyCall(stack.appUrl, jar, 'demo/profile')).status).toBe(200); // refreshed: the first token for the API
  expect((await proxyCall(stack.appUrl, jar, 'demo/profile')).status).toBe(200); // from the cache
  await expireAccessTokens(stack);
  expect((await proxyCall(stack.appUrl, jar, 'demo/profile')).status).toBe(200); // refreshed
  const row = (await readCacheRow(stack))!;
  for (const kind of ['AccessToken', 'RefreshToken', 'IdToken']) for (const entry of Object.values(row.cache[kind] ?? {})) secrets.push(entry['secret']!);
  expect((await send(`${stack.appUrl}/api/logout`, jar, { method: 'POST', headers: { 'x-csrf': '1' } })).status).toBe(302);
  // A front-channel notification for a provider session nobody here has.
  expect((await send(`${stack.appUrl}/api/logout/frontchannel?sid=no-such-session`, undefined)).status).toBe(200);

  secrets.push(stack.devClient!.clientSecret, ...(stack.settings['Session__Keys'] ?? '').split(','));
  const claimValues = ['Ada Lovelace', 'ada@contoso.dev'];
  expect(secrets.filter((s) => !s || s.length < 8)).toEqual([]);

  // Every line is one JSON object.
  expect(lines.length).toBeGreaterThan(10);
  for (const line of lines) {
    expect(line).not.toContain('\n');
    expect(() => JSON.parse(line)).not.toThrow();
    for (const secret of secrets) expect(line).not.toContain(secret);
    for (const claim of claimValues) expect(line).not.toContain(claim);
    expect(line).not.toMatch(/eyJ[\w-]{10,}\.[\w-]{10,}/);
    expect(line).not.toMatch(/"claims"|refresh_token|access_token|id_token|"cookie"|set-cookie/i);
  }

  // Request lines: correlation, route, status, duration, dependencies.
  for (const line of parsed().filter((l) => l.type === 'request')) {
    expect(line).toMatchObject({ invocationId: expect.stringMatching(/^[0-9a-f-]{36}$/), traceparent: expect.stringMatching(/^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$/), route: expect.any(String), status: expect.any(Number), durationMs: expect.any(Number) });
  }
  // The caller's trace context is kept.
  expect(requests('me')[0]?.traceparent).toBe('00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01');
  const redirects = requests('redirect');
  expect(redirects.map((r) => r.status)).toEqual([400, 302]);
  expect(redirects[1]?.dependencies).toMatchObject({ provider: { calls: expect.any(Number) }, table: { calls: expect.any(Number) } });
  const proxied = requests('proxy');
  expect(proxied.map((r) => r.token)).toEqual(['refreshed', 'cache', 'refreshed']);
  // A refresh: the row's read, the refresh lease's insert, the row's read again under the lease (its refresh token still current?), the row's write, the lease's release.
  expect(proxied[0]?.dependencies).toMatchObject({ table: { calls: 5 }, provider: { calls: 1 }, api: { calls: 1 } });
  expect(proxied[1]?.dependencies).toEqual({ table: expect.objectContaining({ calls: 1, failures: 0 }), api: expect.objectContaining({ calls: 1 }) });
  expect(proxied[0]?.route).toBe('proxy/{api}/{*path}');

  // Events, each inside its request's correlation.
  expect(events('sign_in').map((e) => [e.outcome, e.code])).toEqual([
    ['failed', 'state_mismatch'],
    ['success', undefined],
  ]);
  expect(events('sign_in')[1]?.invocationId).toBe(redirects[1]?.invocationId);
  expect(events('refresh').map((e) => e.outcome)).toEqual(['success', 'success']);
  expect(events('refresh')[0]?.invocationId).toBe(proxied[0]?.invocationId);
  expect(events('sign_out')).toHaveLength(1);
  expect(events('logout_notification').map((e) => [e.reason, e.count])).toEqual([['frontchannel', 0]]);
  expect(events('dependency_failure')).toEqual([]);

  for (const name of ['sign_in', 'refresh', 'sign_out', 'logout_notification']) console.log(`sample ${name}: ${JSON.stringify(events(name).at(-1))}`);
  console.log(`sample request (proxy): ${JSON.stringify(proxied[0])}`);
});

test('a downstream answer of 5xx is a dependency failure of that request', async () => {
  const jar = new CookieJar();
  await signIn(stack.appUrl, jar);
  lines.length = 0;
  const answer = await proxyCall(stack.appUrl, jar, 'demo/status/503');
  expect(answer.status).toBe(503);
  const failures = events('dependency_failure');
  expect(failures.map((f) => [f.dependency, f.status])).toEqual([['api', 503]]);
  expect(failures[0]?.invocationId).toBe(requests('proxy')[0]?.invocationId);
  expect(requests('proxy')[0]?.dependencies).toMatchObject({ api: { calls: 1, failures: 1 } });
  console.log(`sample dependency_failure: ${JSON.stringify(failures[0])}`);
});

// Last: a second stack rebinds the process's runtime.
test('consent needed: the request line says interaction_required and an event names the provider error', async () => {
  consentStack = await startLocalStack({ settings: {}, port: 0, log: () => {}, idp: { consentRequired: true } });
  await cacheTable(consentStack).createTable();
  const jar = new CookieJar();
  await signIn(consentStack.appUrl, jar);
  lines.length = 0;
  const answer = await proxyCall(consentStack.appUrl, jar, 'demo/profile');
  expect(answer.status).toBe(401);
  expect(requests('proxy').map((r) => [r.status, r.code, r.token])).toEqual([[401, 'interaction_required', 'interaction_required']]);
  expect(events('consent_required')).toHaveLength(1);
  expect(events('consent_required')[0]?.invocationId).toBe(requests('proxy')[0]?.invocationId);
  console.log(`sample consent_required: ${JSON.stringify(events('consent_required')[0])}`);
});

describe('what reaches a line', () => {
  test('strings shaped like tokens, codes or keys, or too long, are redacted', () => {
    expect(safe('invalid_grant')).toBe('invalid_grant');
    expect(safe('eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxIn0.sig')).toBe('[redacted]');
    expect(safe('0.AAAAbbbbccccddddeeeeffffgggghhhhiiiijjjjkkkk')).toBe('[redacted]');
    expect(safe('x'.repeat(121))).toBe('[redacted]');
    expect(safe('line\nbreak')).toBe('line?break');
  });

  test('a traceparent header is kept only when it is valid W3C trace context', () => {
    expect(traceparentOrNew('00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01')).toBe('00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01');
    for (const bad of ['garbage"}', '00-00000000000000000000000000000000-b7ad6b7169203331-01', `00-${'a'.repeat(32)}-${'b'.repeat(16)}-01\n{"x":1}`, null]) {
      const value = traceparentOrNew(bad);
      expect(value).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
      expect(value).not.toBe(bad);
    }
  });
});
