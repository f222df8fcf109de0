import { randomBytes } from 'node:crypto';
import { startLocalStack, type LocalStack } from '../../dev/stack';
import { createCookieSealer } from '../../shared/session/sealing';
import type { IdTokenOverride } from '../../dev/idp';
import { CookieJar, expectNoSecrets, postBack, proxyCall, send, signIn, signInAtProvider } from '../support/browserless';
import { readCacheRow } from '../support/cacheRows';
import { rawRequest } from '../support/rawHttp';

/**
 * Every hostile or broken input of the sign-in issue, over real HTTP against the local stack:
 * each gets the contract's answer, never a 500, a session, or a token in the body.
 */
let stack: LocalStack;

beforeAll(async () => {
  stack = await startLocalStack({ settings: {}, port: 0, log: () => {} });
});
afterAll(async () => {
  await stack?.close();
});

const SESSION = '__Host-th.session';

async function expectProblem(response: Response, status: number, code: string): Promise<Record<string, unknown>> {
  expect(response.status).toBe(status);
  expect(response.headers.get('content-type')).toBe('application/problem+json');
  const text = await response.text();
  expectNoSecrets(text);
  expect(text).not.toMatch(/at .*\.(ts|js):\d+/); // no stack trace
  const body = JSON.parse(text);
  expect(body).toMatchObject({ status, code });
  expect(typeof body.title).toBe('string');
  return body;
}

function setsSession(response: Response): boolean {
  return response.headers.getSetCookie().some((c) => c.startsWith(`${SESSION}=`) && !/Max-Age=0/i.test(c));
}

describe('the sign-in callback', () => {
  test('without the auth-request cookie (state missing) answers 400 and no session', async () => {
    const jar = new CookieJar();
    const answer = await signInAtProvider(stack.appUrl, jar);
    const response = await postBack(answer, new CookieJar());
    await expectProblem(response, 400, 'state_missing');
    expect(setsSession(response)).toBe(false);
  });

  test('with a state that is not the one sent answers 400', async () => {
    const jar = new CookieJar();
    const answer = await signInAtProvider(stack.appUrl, jar);
    const response = await postBack({ ...answer, fields: { ...answer.fields, state: 'forged-state' } }, jar);
    await expectProblem(response, 400, 'state_mismatch');
    expect(setsSession(response)).toBe(false);
    // The pending sign-in is not disturbed by the forged callback: the real one still completes.
    expect((await postBack(answer, jar)).status).toBe(302);
  });

  test('without any state answers 400', async () => {
    const jar = new CookieJar();
    const answer = await signInAtProvider(stack.appUrl, jar);
    const { state: _drop, ...fields } = answer.fields;
    await expectProblem(await postBack({ ...answer, fields }, jar), 400, 'state_mismatch');
  });

  test('a replayed callback after a completed sign-in answers 400', async () => {
    const jar = new CookieJar();
    const answer = await signInAtProvider(stack.appUrl, jar);
    expect((await postBack(answer, jar)).status).toBe(302);
    const replay = await postBack(answer, jar);
    await expectProblem(replay, 400, 'state_missing');
  });

  test('the same code redeemed twice (auth-request cookie copied) is refused by the provider: 400', async () => {
    const jar = new CookieJar();
    const answer = await signInAtProvider(stack.appUrl, jar);
    const copy = jar.clone();
    expect((await postBack(answer, jar)).status).toBe(302);
    const second = await postBack(answer, copy);
    await expectProblem(second, 400, 'code_rejected');
    expect(setsSession(second)).toBe(false);
  });

  test('a provider error answers 400 with the error code only', async () => {
    const jar = new CookieJar();
    const answer = await signInAtProvider(stack.appUrl, jar);
    const response = await postBack({ ...answer, fields: { state: answer.fields['state']!, error: 'server_error', error_description: '<script>alert(1)</script> AADSTS50000' } }, jar);
    const body = await expectProblem(response, 400, 'provider_error');
    expect(body['error']).toBe('server_error');
    expect(JSON.stringify(body)).not.toContain('<script>');
  });

  test('error=access_denied (the user cancelled) goes back to the returnUrl with signInError, no session, the auth-request cookie cleared', async () => {
    const jar = new CookieJar();
    const answer = await signInAtProvider(stack.appUrl, jar, { returnUrl: '/api/?tab=apis' });
    const response = await postBack({ ...answer, fields: { state: answer.fields['state']!, error: 'access_denied', error_description: 'AADSTS65004' } }, jar);
    expect(response.status).toBe(302);
    expect(response.headers.get('location')).toBe('/api/?tab=apis&signInError=access_denied');
    expect(setsSession(response)).toBe(false);
    expect(response.headers.getSetCookie().some((c) => /^__Host-th\.authreq=;.*Max-Age=0/i.test(c))).toBe(true);
    // A forged access_denied without the pending sign-in's state changes nothing.
    const forged = await postBack({ ...answer, fields: { state: 'forged', error: 'access_denied' } }, jar);
    expect(forged.status).toBe(400);
  });

  test('a browser navigation gets a readable error page, not JSON', async () => {
    const jar = new CookieJar();
    const answer = await signInAtProvider(stack.appUrl, jar);
    const response = await postBack({ ...answer, fields: { ...answer.fields, state: 'forged' } }, jar, 'text/html,application/xhtml+xml');
    expect(response.status).toBe(400);
    expect(response.headers.get('content-type')).toContain('text/html');
    expect(await response.text()).toContain('state_mismatch');
  });

  test('a provider that answers 5xx at the token endpoint gives 502', async () => {
    const jar = new CookieJar();
    const answer = await signInAtProvider(stack.appUrl, jar);
    stack.idp!.controls.failTokenEndpoint(503, 1);
    await expectProblem(await postBack(answer, jar), 502, 'provider_unavailable');
  });

  const badIdTokens: [string, IdTokenOverride][] = [
    ['a wrong issuer', { issuer: 'https://evil.example' }],
    ['a wrong audience', { audience: 'someone-else' }],
    ['a bad signature', { signWithForeignKey: true }],
    ['alg none', { alg: 'none' }],
    ['an expiry in the past', { expired: true }],
    ['a wrong nonce', { nonce: 'not-the-nonce' }],
    ['no nonce', { nonce: null }],
  ];
  test.each(badIdTokens)('an ID token with %s answers 401, no session and no cache row', async (_name, override) => {
    const jar = new CookieJar();
    const answer = await signInAtProvider(stack.appUrl, jar, { username: 'grace@contoso.dev' });
    const writesBefore = (await stack.runtime.get()).tableCalls.writes;
    stack.idp!.controls.nextIdToken(override);
    const response = await postBack(answer, jar);
    await expectProblem(response, 401, 'id_token_invalid');
    expect(setsSession(response)).toBe(false);
    expect((await stack.runtime.get()).tableCalls.writes).toBe(writesBefore);
    expect(await readCacheRow(stack, 'grace@contoso.dev')).toBeUndefined();
  });
});

describe('returnUrl', () => {
  test.each(['//evil.example', '/\\evil.example', 'https://evil.example', '/%2F%2Fevil.example'.slice(1), '%2F%2Fevil.example'])('%s falls back to /', async (returnUrl) => {
    const jar = new CookieJar();
    const back = await signIn(stack.appUrl, jar, { returnUrl });
    expect(back.headers.get('location')).toBe('/');
  });
});

describe('cookies', () => {
  async function signedInJar(): Promise<CookieJar> {
    const jar = new CookieJar();
    await signIn(stack.appUrl, jar);
    return jar;
  }

  test('a tampered session cookie reads as no session (401)', async () => {
    const jar = await signedInJar();
    const value = jar.get(SESSION)!;
    const i = Math.floor(value.length / 2);
    jar.set(SESSION, value.slice(0, i) + (value[i] === 'A' ? 'B' : 'A') + value.slice(i + 1));
    await expectProblem(await send(`${stack.appUrl}/api/me`, jar), 401, 'not_signed_in');
  });

  test('a truncated session cookie reads as no session (401)', async () => {
    const jar = await signedInJar();
    jar.set(SESSION, jar.get(SESSION)!.slice(0, 40));
    await expectProblem(await send(`${stack.appUrl}/api/me`, jar), 401, 'not_signed_in');
    await expectProblem(await proxyCall(stack.appUrl, jar, 'demo/profile'), 401, 'not_signed_in');
  });

  test('a cookie sealed with a key the app does not hold reads as no session (401)', async () => {
    const foreign = createCookieSealer([new Uint8Array(randomBytes(32))]);
    const now = Math.floor(Date.now() / 1000);
    const jar = new CookieJar();
    jar.set(SESSION, await foreign.seal({ sid: 'x', homeAccountId: 'a.b', claims: {}, iat: now, exp: now + 600 }, 'session'));
    await expectProblem(await send(`${stack.appUrl}/api/me`, jar), 401, 'not_signed_in');
  });

  test('the auth-request cookie cannot pass as a session', async () => {
    const jar = new CookieJar();
    await signInAtProvider(stack.appUrl, jar);
    jar.set(SESSION, jar.get('__Host-th.authreq')!);
    await expectProblem(await send(`${stack.appUrl}/api/me`, jar), 401, 'not_signed_in');
  });
});

describe('the proxy', () => {
  let jar: CookieJar;
  beforeAll(async () => {
    jar = new CookieJar();
    await signIn(stack.appUrl, jar);
  });

  test('without X-CSRF: 1 answers 403', async () => {
    await expectProblem(await send(`${stack.appUrl}/api/proxy/demo/profile`, jar), 403, 'antiforgery_header_missing');
    await expectProblem(await proxyCall(stack.appUrl, jar, 'demo/profile', { headers: { 'x-csrf': 'yes' } }), 403, 'antiforgery_header_missing');
  });

  test.each(['demo/a%2Fb', 'demo/a%5Cb', 'demo/a%252e%252e/b', 'demo/a%252E%252E/b', 'demo/a\\b'])('%s answers 400', async (path) => {
    // Sent raw: fetch would resolve or re-encode parts of the path before they reach the app.
    const answer = await rawRequest(stack.appUrl, `/api/proxy/${path}`, { cookie: jar.header(), 'x-csrf': '1' });
    expect(answer.status).toBe(400);
    expect(answer.headers['content-type']).toBe('application/problem+json');
    expect(JSON.parse(answer.body)).toMatchObject({ code: 'proxy_path_invalid' });
  });

  // The host (Kestrel, and the local host like it) resolves dot segments, plain or encoded,
  // before routing: the function never sees them, and the token never leaves the API's base URL.
  test.each([
    ['demo/a/%2e%2e/echo/x', '/echo/x'],
    ['demo/%2E%2E/demo/echo/./y', '/echo/y'],
    ['demo/a/../echo/z', '/echo/z'],
  ])('%s is resolved by the host before routing: the API sees %s', async (path, seen) => {
    const answer = await rawRequest(stack.appUrl, `/api/proxy/${path}`, { cookie: jar.header(), 'x-csrf': '1' });
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body)).toMatchObject({ path: seen });
  });

  test('dot segments climbing out of an API land on another route, never on the API with a token', async () => {
    const otherApi = await rawRequest(stack.appUrl, '/api/proxy/demo/../secret/x', { cookie: jar.header(), 'x-csrf': '1' });
    expect(otherApi.status).toBe(404);
    expect(JSON.parse(otherApi.body)).toMatchObject({ code: 'api_unknown' });
  });

  test('an unknown API answers 404', async () => {
    await expectProblem(await proxyCall(stack.appUrl, jar, 'nope/profile'), 404, 'api_unknown');
  });

  test('without a session answers 401 with loginUrl (never a redirect for an XHR)', async () => {
    const body = await expectProblem(await proxyCall(stack.appUrl, new CookieJar(), 'demo/profile'), 401, 'not_signed_in');
    expect(body['loginUrl']).toMatch(/^\/api\/login\?returnUrl=%2F&scopes=/);
  });
});

describe('sign-out', () => {
  test('a GET without the session\'s sid signs nobody out (400)', async () => {
    const jar = new CookieJar();
    await signIn(stack.appUrl, jar);
    await expectProblem(await send(`${stack.appUrl}/api/logout`, jar), 400, 'logout_sid_mismatch');
    await expectProblem(await send(`${stack.appUrl}/api/logout?sid=guess`, jar), 400, 'logout_sid_mismatch');
    expect((await proxyCall(stack.appUrl, jar, 'demo/profile')).status).toBe(200);
  });

  test('another session\'s logoutUrl (a page the attacker can get for their own session) signs nobody out; a new sign-in gets a new sid', async () => {
    const attacker = new CookieJar();
    const victim = new CookieJar();
    await signIn(stack.appUrl, attacker, { username: 'grace@contoso.dev' });
    await signIn(stack.appUrl, victim);
    const logoutUrlOf = async (jar: CookieJar) => ((await (await send(`${stack.appUrl}/api/me`, jar)).json()) as { logoutUrl: string }).logoutUrl;
    const attackersLink = await logoutUrlOf(attacker);
    await expectProblem(await send(new URL(attackersLink, stack.appUrl).href, victim), 400, 'logout_sid_mismatch');
    expect((await proxyCall(stack.appUrl, victim, 'demo/profile')).status).toBe(200);
    // Signing in again in the same browser replaces the session id: the old link no longer works.
    const before = await logoutUrlOf(victim);
    await signIn(stack.appUrl, victim);
    expect(await logoutUrlOf(victim)).not.toBe(before);
  });

  test('a POST without X-CSRF answers 403; with it, signs out', async () => {
    const jar = new CookieJar();
    await signIn(stack.appUrl, jar);
    await expectProblem(await send(`${stack.appUrl}/api/logout`, jar, { method: 'POST' }), 403, 'antiforgery_header_missing');
    const out = await send(`${stack.appUrl}/api/logout`, jar, { method: 'POST', headers: { 'x-csrf': '1' } });
    expect(out.status).toBe(302);
    expect(await readCacheRow(stack)).toBeUndefined();
  });
});

describe('login parameters', () => {
  test('bad prompt or scopes answer 400; extra scopes reach the authorize request', async () => {
    await expectProblem(await send(`${stack.appUrl}/api/login?prompt=evil`, new CookieJar()), 400, 'prompt_invalid');
    await expectProblem(await send(`${stack.appUrl}/api/login?scopes=${encodeURIComponent('a"b')}`, new CookieJar()), 400, 'scopes_invalid');
    const ok = await send(`${stack.appUrl}/api/login?scopes=${encodeURIComponent('api://demo-api/Data.Read')}&loginHint=ada%40contoso.dev`, new CookieJar());
    expect(ok.status).toBe(302);
    const location = new URL(ok.headers.get('location')!);
    expect(location.searchParams.get('scope')).toContain('api://demo-api/Data.Read');
    expect(location.searchParams.get('code_challenge_method')).toBe('S256');
    expect(location.searchParams.get('response_mode')).toBe('form_post');
    expect(location.searchParams.get('login_hint')).toBe('ada@contoso.dev');
  });

  test('scopes that would overflow the auth-request cookie answer 400 cookie_too_large, not a bare 500', async () => {
    const scopes = Array.from({ length: 20 }, (_, i) => `api://big-${i}/${'x'.repeat(200)}`).join(' ');
    const response = await send(`${stack.appUrl}/api/login?scopes=${encodeURIComponent(scopes)}`, new CookieJar());
    await expectProblem(response, 400, 'cookie_too_large');
    expect(response.headers.getSetCookie()).toEqual([]);
  });
});
