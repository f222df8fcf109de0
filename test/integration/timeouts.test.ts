import { startLocalStack, DEMO_API_SCOPE, type LocalStack } from '../../dev/stack';
import { azuriteTableConnectionString, startAzuriteTable, type AzuriteTable } from '../../dev/azurite';
import { CookieJar, proxyCall, send, signIn } from '../support/browserless';
import { expireAccessTokens } from '../support/cacheRows';
import { startFaultProxy, type FaultProxy } from '../support/faultProxy';

/**
 * Dependencies that accept a connection and never answer: every request still gets an answer,
 * a 503/504 problem with a stable code and Retry-After, and the process keeps serving others.
 * Elapsed times are printed, not asserted (a wait without a timeout fails by the test's own).
 */
let azurite: AzuriteTable;
let table: FaultProxy;
let api: FaultProxy;
let stack: LocalStack;

beforeAll(async () => {
  azurite = await startAzuriteTable();
  table = await startFaultProxy(azurite.port);
  // An API that accepts and never answers: a fault proxy to a port nobody listens on is not needed, black-hole mode holds every byte.
  api = await startFaultProxy(azurite.port);
  api.mode = 'blackhole';
  stack = await startLocalStack({
    port: 0,
    log: () => {},
    settings: {
      TokenCache__ConnectionString: azuriteTableConnectionString(`http://127.0.0.1:${table.port}/devstoreaccount1`),
      DownstreamApis__hang__BaseUrl: `${api.url}/`,
      DownstreamApis__hang__Scopes: DEMO_API_SCOPE,
      DownstreamApis__hang__TimeoutSeconds: '2',
    },
  });
});
afterAll(async () => {
  await stack?.close();
  await table?.close();
  await api?.close();
  await azurite?.close();
});

async function timed(call: () => Promise<Response>): Promise<{ response: Response; body: Record<string, unknown>; ms: number }> {
  const started = performance.now();
  const response = await call();
  const body = (await response.json()) as Record<string, unknown>;
  return { response, body, ms: Math.round(performance.now() - started) };
}

test('a black-holed Table answers 504 token_cache_timeout with Retry-After; other requests are served meanwhile; it recovers', async () => {
  const jar = new CookieJar();
  await signIn(stack.appUrl, jar);
  table.mode = 'blackhole';
  const pending = timed(() => proxyCall(stack.appUrl, jar, 'hang/x'));
  // While that request waits on the Table, the process answers others.
  expect((await send(`${stack.appUrl}/api/health`, undefined)).status).toBe(200);
  const { response, body, ms } = await pending;
  expect(response.status).toBe(504);
  expect(body).toMatchObject({ code: 'token_cache_timeout' });
  expect(response.headers.get('retry-after')).toBe('5');
  console.log(`figure: table black-holed -> ${response.status} ${String(body['code'])} after ${ms} ms`);

  table.mode = 'pass';
  const again = new CookieJar();
  expect((await signIn(stack.appUrl, again)).status).toBe(302);
});

test('a stopped Table answers 503 token_cache_unavailable with Retry-After', async () => {
  const jar = new CookieJar();
  await signIn(stack.appUrl, jar);
  table.mode = 'refuse';
  try {
    const { response, body, ms } = await timed(() => proxyCall(stack.appUrl, jar, 'hang/x'));
    expect(response.status).toBe(503);
    expect(body).toMatchObject({ code: 'token_cache_unavailable' });
    expect(response.headers.get('retry-after')).toBe('5');
    console.log(`figure: table stopped -> ${response.status} ${String(body['code'])} after ${ms} ms`);
  } finally {
    table.mode = 'pass';
  }
});

test('a token endpoint that never answers during a refresh gives 504 provider_timeout, then an API that never answers 504 api_timeout', async () => {
  const jar = new CookieJar();
  await signIn(stack.appUrl, jar, { username: 'grace@contoso.dev' });
  await expireAccessTokens(stack, 'grace@contoso.dev');
  stack.idp!.controls.holdTokenRequests(true);
  try {
    const { response, body, ms } = await timed(() => proxyCall(stack.appUrl, jar, 'hang/x'));
    expect(response.status).toBe(504);
    expect(body).toMatchObject({ code: 'provider_timeout' });
    expect(response.headers.get('retry-after')).toBe('5');
    console.log(`figure: token endpoint black-holed -> ${response.status} ${String(body['code'])} after ${ms} ms`);
  } finally {
    stack.idp!.controls.holdTokenRequests(false);
  }

  const { response, body, ms } = await timed(() => proxyCall(stack.appUrl, jar, 'hang/x'));
  expect(response.status).toBe(504);
  expect(body).toMatchObject({ code: 'api_timeout' });
  console.log(`figure: API black-holed (TimeoutSeconds 2) -> ${response.status} ${String(body['code'])} after ${ms} ms`);
});
