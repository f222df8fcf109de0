import { startLocalStack, type LocalStack } from '../../dev/stack';
import { CookieJar, proxyCall, signIn } from '../support/browserless';
import { cacheTable } from '../support/cacheRows';

/**
 * App identity (client credentials) through the real functions, beside a provider that asks
 * for consent per API; the demo API checks the audience and the role it gets. (Incremental
 * consent through the provider's consent screen is test/e2e/consent.test.ts.)
 */
let stack: LocalStack;

beforeAll(async () => {
  stack = await startLocalStack({ settings: {}, port: 0, log: () => {}, appIdentityApi: true, idp: { consentRequired: true, authority: 'tenant' } });
  await cacheTable(stack).createTable();
});
afterAll(async () => {
  await stack?.close();
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
