import { startLocalStack, DEMO_API_SCOPE, type LocalStack } from '../../dev/stack';
import { createConfidentialClient } from '../../shared/auth/msalClient';
import { AccountCachePlugin } from '../../shared/tokenCache/accountCachePlugin';
import { partitionKeyFor } from '../../shared/tokenCache/tableStore';
import { readSession } from '../../shared/session/session';
import { CookieJar, proxyCall, signIn } from '../support/browserless';
import { expireAccessTokens, homeAccountIdOf, readCacheRow } from '../support/cacheRows';

/**
 * Two app instances refreshing one account at once: the row's ETag makes the later writer
 * re-read and merge, so neither instance's new tokens are lost and no stale copy wins.
 */
const SECOND_SCOPE = 'api://second-api/Files.Read';
let stack: LocalStack;

beforeAll(async () => {
  stack = await startLocalStack({ settings: {}, port: 0, log: () => {}, idp: { extraApis: [{ audience: 'api://second-api', scopes: [SECOND_SCOPE] }] } });
});
afterAll(async () => {
  await stack?.close();
});

async function instanceFor(homeAccountId: string) {
  const runtime = await stack.runtime.get();
  const provider = await runtime.providers.get();
  const plugin = new AccountCachePlugin(runtime.tokenCache, partitionKeyFor(homeAccountId), () => new Date(Date.now() + 3600_000));
  const client = createConfidentialClient(runtime.config, runtime.config.authority.url, provider, await runtime.credentials.get(), plugin);
  const account = (await client.getTokenCache().getAccountByHomeId(homeAccountId))!;
  return { client, account, plugin };
}

test('the later of two writers that read the same version merges instead of overwriting', async () => {
  const jar = new CookieJar();
  await signIn(stack.appUrl, jar);
  const homeAccountId = homeAccountIdOf();
  const runtime = await stack.runtime.get();

  // Both instances read the row (same ETag) before either writes.
  const a = await instanceFor(homeAccountId);
  const b = await instanceFor(homeAccountId);
  const readsBefore = runtime.tableCalls.reads;

  const tokenA = await a.client.acquireTokenSilent({ account: a.account, scopes: [DEMO_API_SCOPE] });
  const tokenB = await b.client.acquireTokenSilent({ account: b.account, scopes: [SECOND_SCOPE] });
  expect(tokenA.fromCache).toBe(false);
  expect(tokenB.fromCache).toBe(false);
  expect(a.plugin.writes).toBe(1);
  expect(b.plugin.writes).toBe(1);
  // B's If-Match failed, so it re-read the row once before writing the merge.
  expect(runtime.tableCalls.reads - readsBefore).toBe(1);

  const row = await readCacheRow(stack);
  const targets = Object.values(row!.cache['AccessToken']!).map((t) => t['target']);
  expect(targets).toEqual(expect.arrayContaining(['api://demo-api/Data.Read', SECOND_SCOPE]));
});

test('concurrent proxied calls that all need a refresh all succeed and leave one consistent row', async () => {
  const jar = new CookieJar();
  await signIn(stack.appUrl, jar, { username: 'grace@contoso.dev' });
  expect((await proxyCall(stack.appUrl, jar, 'demo/profile')).status).toBe(200);
  await expireAccessTokens(stack, 'grace@contoso.dev');

  const answers = await Promise.all(Array.from({ length: 6 }, () => proxyCall(stack.appUrl, jar, 'demo/profile')));
  expect(answers.map((r) => r.status)).toEqual([200, 200, 200, 200, 200, 200]);

  const row = await readCacheRow(stack, 'grace@contoso.dev');
  const demoTokens = Object.values(row!.cache['AccessToken']!).filter((t) => t['target']!.includes('demo-api'));
  expect(demoTokens).toHaveLength(1);
  expect(Number(demoTokens[0]!['expires_on'])).toBeGreaterThan(Date.now() / 1000);
  const session = await readSession((await stack.runtime.get()).sealer, jar.header());
  expect(session?.homeAccountId).toBe(homeAccountIdOf('grace@contoso.dev'));
});
