import { startLocalStack, type LocalStack } from '../../dev/stack';
import { GRAPH_DEFAULT_BASE_URL, loadConfig } from '../../shared/config';
import { CookieJar, proxyCall, signIn } from '../support/browserless';
import { cacheTable, readCacheRow } from '../support/cacheRows';

/**
 * Microsoft Graph as a downstream API named `graph`: configured with its scopes only (the base
 * URL defaults to Graph's), reached through the same proxy rules, here against the local Graph
 * stand-in, which checks the token's issuer, audience (https://graph.microsoft.com) and scope.
 */
let stack: LocalStack;

beforeAll(async () => {
  stack = await startLocalStack({ settings: {}, port: 0, log: () => {}, graph: true, idp: { authority: 'tenant' } });
  await cacheTable(stack).createTable();
});
afterAll(async () => {
  await stack?.close();
});

test('graph needs only DownstreamApis__graph__Scopes: the base URL defaults to Graph v1.0', () => {
  const { DownstreamApis__graph__BaseUrl: _standIn, ...settings } = stack.settings;
  const config = loadConfig(settings);
  expect(config.downstreamApis.get('graph')).toMatchObject({ baseUrl: `${GRAPH_DEFAULT_BASE_URL}/`, scopes: ['User.Read'] });
  expect(() => loadConfig({ ...settings, DownstreamApis__other__Scopes: 'api://x/.default' })).toThrow(/DownstreamApis__other__BaseUrl/);
});

test('the profile and the photo come through the proxy with a Graph token for User.Read', async () => {
  const jar = new CookieJar();
  await signIn(stack.appUrl, jar);
  const me = await proxyCall(stack.appUrl, jar, 'graph/me');
  expect(me.status).toBe(200);
  expect(await me.json()).toMatchObject({ displayName: 'Ada Lovelace', userPrincipalName: 'ada@contoso.dev' });
  const photo = await proxyCall(stack.appUrl, jar, 'graph/me/photo/$value');
  expect(photo.status).toBe(200);
  expect(photo.headers.get('content-type')).toBe('image/png');
  const bytes = new Uint8Array(await photo.arrayBuffer());
  expect([...bytes.slice(1, 4)]).toEqual([0x50, 0x4e, 0x47]);
  expect(stack.graph!.stats.rejected).toBe(0);

  // Graph's token is its own, beside the demo API's: one resource per token.
  expect((await proxyCall(stack.appUrl, jar, 'demo/profile')).status).toBe(200);
  const row = await readCacheRow(stack);
  const targets = Object.values(row!.cache['AccessToken']!).map((t) => t['target']!.toLowerCase());
  expect(targets.some((t) => t.includes('user.read') && !t.includes('demo-api'))).toBe(true);
  expect(targets.some((t) => t.includes('demo-api'))).toBe(true);
});

test('the Graph stand-in refuses a call without a valid token', async () => {
  const response = await fetch(`${stack.graph!.baseUrl}/me`, { headers: { authorization: 'Bearer not-a-token' } });
  expect(response.status).toBe(401);
  expect(response.headers.get('www-authenticate')).toMatch(/invalid_token/);
});
