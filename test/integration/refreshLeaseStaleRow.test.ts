import { startLocalStack, type LocalStack } from '../../dev/stack';
import { refreshLeaseHook, type LeaseState } from '../../shared/auth/refreshLease';
import { partitionKeyFor } from '../../shared/tokenCache/tableStore';
import { CookieJar, proxyCall, signIn } from '../support/browserless';
import { expireAccessTokens, homeAccountIdOf, readCacheRow } from '../support/cacheRows';

/**
 * A call that read the account's row before another refresh wrote it can reach its own refresh
 * after that refresh let go of the lease (seen across two processes under load: 401s in a
 * stampede, the provider rotating refresh tokens). Holding the lease, it must see that the row
 * no longer holds the refresh token it is about to redeem, and read the row again instead.
 */
let stack: LocalStack;

beforeAll(async () => {
  stack = await startLocalStack({ settings: {}, port: 0, log: () => {}, idp: { singleUseRefreshTokens: true } });
});
afterAll(async () => {
  await stack?.close();
});

function refreshTokenOf(row: NonNullable<Awaited<ReturnType<typeof readCacheRow>>>): string {
  return Object.values(row.cache['RefreshToken']!)[0]!['secret']!;
}

test('a refresh token replaced since the row was read is not redeemed; the current one is', async () => {
  const jar = new CookieJar();
  await signIn(stack.appUrl, jar);
  expect((await proxyCall(stack.appUrl, jar, 'demo/profile')).status).toBe(200);
  const stale = refreshTokenOf((await readCacheRow(stack))!);
  await expireAccessTokens(stack);
  expect((await proxyCall(stack.appUrl, jar, 'demo/profile')).status).toBe(200);
  const current = refreshTokenOf((await readCacheRow(stack))!);
  expect(current).not.toBe(stale);

  const table = (await stack.runtime.get()).tokenCache;
  const partitionKey = partitionKeyFor(homeAccountIdOf());
  const request = (refreshToken: string) => new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken });

  const late: LeaseState = {};
  await expect(refreshLeaseHook(table, partitionKey, late)(request(stale))).rejects.toMatchObject({ name: 'RefreshedElsewhere' });
  expect(late.refreshedElsewhere).toBe(true);
  await table.releaseRefreshLease(partitionKey, late.lease!);

  const fresh: LeaseState = {};
  await refreshLeaseHook(table, partitionKey, fresh)(request(current));
  expect(fresh.refreshedElsewhere).toBeUndefined();
  expect(fresh.lease).toBeDefined();
  await table.releaseRefreshLease(partitionKey, fresh.lease!);
});
