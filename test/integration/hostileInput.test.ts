import { startLocalStack, type LocalStack } from '../../dev/stack';
import { partitionKeyFor, ROW_KEY, toEntity } from '../../shared/tokenCache/tableStore';
import { CookieJar, expectNoSecrets, postBack, proxyCall, send, signIn, signInAtProvider } from '../support/browserless';
import { cacheTable, homeAccountIdOf, readCacheRow } from '../support/cacheRows';
import { rawRequest } from '../support/rawHttp';

/**
 * Inputs that used to end in 500 or slip through (issue: bounded, self-healing and
 * single-flight), over real HTTP against the local stack.
 */
let stack: LocalStack;
const logLines: string[] = [];

beforeAll(async () => {
  stack = await startLocalStack({ settings: {}, port: 0, log: (line) => logLines.push(line) });
});
afterAll(async () => {
  await stack?.close();
});

async function expectProblem(response: Response, status: number, code: string): Promise<Record<string, unknown>> {
  const text = await response.text();
  expect({ status: response.status, text }).toMatchObject({ status });
  expect(response.headers.get('content-type')).toBe('application/problem+json');
  expectNoSecrets(text);
  const body = JSON.parse(text);
  expect(body).toMatchObject({ status, code });
  return body;
}

/** A request body sent chunked (no Content-Length), one chunk at a time. */
function chunkedBody(chunks: Uint8Array[]): ReadableStream<Uint8Array> {
  return ReadableStream.from(chunks);
}

describe('returnUrl with characters beyond Latin-1', () => {
  test('is percent-encoded in Location and the sign-in completes with a session', async () => {
    const jar = new CookieJar();
    const back = await signIn(stack.appUrl, jar, { returnUrl: '/docs/日本語?q=ü' });
    expect(back.status).toBe(302);
    expect(back.headers.get('location')).toBe('/docs/%E6%97%A5%E6%9C%AC%E8%AA%9E?q=%C3%BC');
    expect((await send(`${stack.appUrl}/api/me`, jar)).status).toBe(200);
  });
});

describe('sign-in inputs that would make the auth-request cookie too large', () => {
  test('answer 400 naming the input, before any redirect', async () => {
    const returnUrl = `/${'a'.repeat(2000)}`;
    const scopes = Array.from({ length: 20 }, (_, i) => `api://x/${String(i).padStart(3, '0')}${'s'.repeat(200)}`).join(' ');
    const response = await send(`${stack.appUrl}/api/login?${new URLSearchParams({ returnUrl, scopes })}`, undefined);
    const body = await expectProblem(response, 400, 'cookie_too_large');
    expect(body['inputs']).toEqual(['scopes', 'returnUrl']);
    expect(response.headers.get('location')).toBeNull();
    expect(response.headers.getSetCookie()).toEqual([]);
  });

  test('long scopes alone are named', async () => {
    const scopes = Array.from({ length: 16 }, (_, i) => `api://x/${i}${'s'.repeat(240)}`).join(' ');
    const body = await expectProblem(await send(`${stack.appUrl}/api/login?${new URLSearchParams({ scopes })}`, undefined), 400, 'cookie_too_large');
    expect(body['inputs']).toEqual(['scopes']);
  });
});

describe('the proxy', () => {
  let jar: CookieJar;
  beforeAll(async () => {
    jar = new CookieJar();
    await signIn(stack.appUrl, jar);
  });

  test.each(['demo/..;/secret', 'demo/a/..;x=1/secret', 'demo/.;/secret', 'demo/a/.;jsessionid=1/b', 'demo/..;'])('%s (path parameters on a dot segment) answers 400', async (path) => {
    const before = stack.demoApi!.stats.requests;
    const answer = await rawRequest(stack.appUrl, `/api/proxy/${path}`, { cookie: jar.header(), 'x-csrf': '1' });
    expect(answer.status).toBe(400);
    expect(JSON.parse(answer.body)).toMatchObject({ code: 'proxy_path_invalid' });
    expect(stack.demoApi!.stats.requests).toBe(before);
  });

  test('a body over the limit with Content-Length answers 413 and nothing reaches the API', async () => {
    const before = stack.demoApi!.stats.requests;
    const response = await proxyCall(stack.appUrl, jar, 'demo/echo', { method: 'POST', body: new Uint8Array(4 * 1024 * 1024 + 1), headers: { 'content-type': 'application/octet-stream' } });
    await expectProblem(response, 413, 'request_body_too_large');
    expect(stack.demoApi!.stats.requests).toBe(before);
  });

  test('a chunked body over the limit answers 413 and nothing reaches the API', async () => {
    const before = stack.demoApi!.stats.requests;
    // Bounded: 12 chunks (6 MiB), then the stream ends by itself.
    const body = chunkedBody(Array.from({ length: 12 }, () => new Uint8Array(512 * 1024)));
    const response = await proxyCall(stack.appUrl, jar, 'demo/echo', { method: 'POST', body, duplex: 'half', headers: { 'content-type': 'application/octet-stream' } } as RequestInit);
    await expectProblem(response, 413, 'request_body_too_large');
    expect(stack.demoApi!.stats.requests).toBe(before);
  });

  test('a body within the limit, chunked, is forwarded whole', async () => {
    const body = chunkedBody(['{"a":', '"one', '"}'].map((part) => new TextEncoder().encode(part)));
    const response = await proxyCall(stack.appUrl, jar, 'demo/echo', { method: 'POST', body, duplex: 'half', headers: { 'content-type': 'application/json' } } as RequestInit);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ body: '{"a":"one"}' });
  });
});

describe('an oversized header section', () => {
  test('answers 431 problem details', async () => {
    const answer = await rawRequest(stack.appUrl, '/api/me', { 'x-padding': 'p'.repeat(40 * 1024) });
    expect(answer.status).toBe(431);
    expect(JSON.parse(answer.body)).toMatchObject({ status: 431, code: 'request_headers_too_large' });
  });
});

describe('the sign-in callback', () => {
  test('a posted form over 64 KiB is refused without reading it all (chunked)', async () => {
    const jar = new CookieJar();
    const answer = await signInAtProvider(stack.appUrl, jar);
    const body = chunkedBody(Array.from({ length: 40 }, (_, i) => new TextEncoder().encode(`x${i}=${'y'.repeat(4096)}&`)));
    const response = await send(answer.action, jar, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body, duplex: 'half' } as RequestInit);
    await expectProblem(response, 400, 'callback_invalid');
  });

  test('an RFC 9207 iss that is not the provider\'s answers 400 and starts no session', async () => {
    const jar = new CookieJar();
    const answer = await signInAtProvider(stack.appUrl, jar);
    const response = await postBack({ ...answer, fields: { ...answer.fields, iss: 'https://evil.example' } }, jar);
    await expectProblem(response, 400, 'issuer_mismatch');
    expect(jar.get('__Host-th.session')).toBeUndefined();
  });

  test('the provider\'s own iss is accepted', async () => {
    const jar = new CookieJar();
    const answer = await signInAtProvider(stack.appUrl, jar);
    const response = await postBack({ ...answer, fields: { ...answer.fields, iss: stack.idp!.issuer } }, jar);
    expect(response.status).toBe(302);
  });
});

describe('a cache row that does not decode', () => {
  const user = 'grace@contoso.dev';

  /** Replaces the cache properties only (a merge): the row's session records stay, so the session is live. */
  async function corruptRow(cache: string): Promise<void> {
    const entity = toEntity(partitionKeyFor(homeAccountIdOf(user)), cache, new Date(Date.now() + 3600_000));
    await cacheTable(stack).updateEntity(entity, 'Merge');
  }

  test.each([
    ['truncated JSON', (json: string) => json.slice(0, Math.floor(json.length / 2))],
    ['JSON of the wrong shape', () => JSON.stringify({ Account: 'x', AccessToken: [1, 2] })],
    ['entries missing fields', () => JSON.stringify({ Account: { a: { home_account_id: 1 } } })],
  ])('%s reads as no tokens (401 with loginUrl), is logged with a code, and the next sign-in replaces it', async (_name, corrupt) => {
    const jar = new CookieJar();
    await signIn(stack.appUrl, jar, { username: user });
    const row = await readCacheRow(stack, user);
    await corruptRow(corrupt(JSON.stringify(row!.cache)));
    logLines.length = 0;

    const response = await proxyCall(stack.appUrl, jar, 'demo/profile');
    const body = await expectProblem(response, 401, 'session_ended');
    expect(body['loginUrl']).toEqual(expect.stringMatching(/^\/api\/login\?/));
    const logged = logLines.filter((l) => l.includes('token_cache_row_unreadable'));
    expect(logged).toHaveLength(1);
    expect(logged[0]).not.toContain('{');

    const again = new CookieJar();
    await signIn(stack.appUrl, again, { username: user });
    expect((await proxyCall(stack.appUrl, again, 'demo/profile')).status).toBe(200);
  });

  test('a row with an unknown entity layout also reads as no tokens', async () => {
    const jar = new CookieJar();
    await signIn(stack.appUrl, jar, { username: user });
    await cacheTable(stack).updateEntity({ partitionKey: partitionKeyFor(homeAccountIdOf(user)), rowKey: ROW_KEY, Chunks: 'two' }, 'Merge');
    await expectProblem(await proxyCall(stack.appUrl, jar, 'demo/profile'), 401, 'session_ended');
  });
});
