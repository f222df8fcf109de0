import { startLocalStack, type LocalStack } from '../../dev/stack';
import type { LocalFunctionsHost } from '../../dev/host';
import { CookieJar, proxyCall, signIn } from '../support/browserless';
import { expireAccessTokens } from '../support/cacheRows';

/**
 * A refresh stampede: two app instances (each its own runtime, as two Functions instances) on
 * one Table and one provider whose refresh tokens are single-use. 50 concurrent proxied calls of
 * one account whose access token has expired: every call succeeds, at most 2 refreshes reach the
 * provider (1 is the aim), and the session survives (its refresh token still works afterwards).
 */
let stack: LocalStack;
let second: LocalFunctionsHost;

beforeAll(async () => {
  stack = await startLocalStack({ settings: {}, port: 0, log: () => {}, idp: { singleUseRefreshTokens: true } });
  second = await stack.startInstance();
});
afterAll(async () => {
  await stack?.close();
});

test('50 concurrent calls across 2 instances: 0 errors, at most 2 provider refreshes, no session lost', async () => {
  const jar = new CookieJar();
  await signIn(stack.appUrl, jar);
  expect((await proxyCall(stack.appUrl, jar, 'demo/profile')).status).toBe(200);

  for (let round = 1; round <= 2; round++) {
    await expireAccessTokens(stack);
    const before = stack.idp!.stats.grants.refresh_token;
    const calls = Array.from({ length: 50 }, (_, i) => proxyCall(i % 2 === 0 ? stack.appUrl : second.url, jar, 'demo/profile'));
    const answers = await Promise.all(calls);
    const statuses = answers.map((r) => r.status);
    await Promise.all(answers.map((r) => r.arrayBuffer()));
    const refreshes = stack.idp!.stats.grants.refresh_token - before;
    console.log(`figure: stampede round ${round}: 50 calls (25 per instance), ${statuses.filter((s) => s !== 200).length} errors, ${refreshes} provider refreshes`);
    expect(statuses).toEqual(Array.from({ length: 50 }, () => 200));
    expect(refreshes).toBeGreaterThanOrEqual(1);
    expect(refreshes).toBeLessThanOrEqual(2);
  }
});
