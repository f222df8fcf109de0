import { startLocalStack, type LocalStack } from '../../dev/stack';
import { CookieJar, postBack, proxyCall, signIn, signInAtProvider } from '../support/browserless';
import { cacheTable } from '../support/cacheRows';

/**
 * Incremental consent (a provider that asks per API) and app identity (client credentials)
 * through the real functions; the demo API checks the audience and the scope or role it gets.
 */
let stack: LocalStack;

beforeAll(async () => {
  stack = await startLocalStack({ settings: {}, port: 0, log: () => {}, appIdentityApi: true, idp: { consentRequired: true, authority: 'tenant' } });
  await cacheTable(stack).createTable();
});
afterAll(async () => {
  await stack?.close();
});

test('incremental consent: the first call asks for the API\'s scope through loginUrl; after consenting the call succeeds', async () => {
  const jar = new CookieJar();
  await signIn(stack.appUrl, jar);
  const refused = await proxyCall(stack.appUrl, jar, 'demo/profile');
  expect(refused.status).toBe(401);
  const problem = (await refused.json()) as { code: string; loginUrl: string };
  expect(problem.code).toBe('interaction_required');
  const login = new URL(problem.loginUrl, stack.appUrl);
  expect(login.searchParams.get('scopes')).toBe('api://demo-api/Data.Read');

  const answer = await signInAtProvider(stack.appUrl, jar, { loginQuery: login.search.slice(1) });
  expect((await postBack(answer, jar)).status).toBe(302);
  const ok = await proxyCall(stack.appUrl, jar, 'demo/profile');
  expect(ok.status).toBe(200);
  expect(await ok.json()).toMatchObject({ user: { name: 'Ada Lovelace' }, scopes: ['Data.Read'] });
});

test('app identity: RequestAppToken calls with a client-credentials token (roles, no user), kept in memory', async () => {
  const jar = new CookieJar();
  await signIn(stack.appUrl, jar, { username: 'grace@contoso.dev' });
  const grants = stack.idp!.stats.grants.client_credentials;
  const first = await proxyCall(stack.appUrl, jar, 'demoapp/profile');
  expect(first.status).toBe(200);
  expect(await first.json()).toMatchObject({ user: { name: 'Local token handler' }, scopes: ['Data.Read'] });
  expect((await proxyCall(stack.appUrl, jar, 'demoapp/profile')).status).toBe(200);
  expect(stack.idp!.stats.grants.client_credentials - grants).toBe(1);
});
