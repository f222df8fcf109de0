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

test('a writer that loses twice in a row merges against the version it last read, not the one it first read', async () => {
  // Three writers on one row, timed by a hook on the real table: A read v0; B writes v1 (adds
  // token x); A's write fails, it re-reads v1 and merges; before A writes again, C writes v2
  // (changes x). A's second merge must count x as C's: A never changed it. Merged against v0,
  // A would think it added x and put B's stale value back over C's.
  const runtime = await stack.runtime.get();
  const table = runtime.tokenCache;
  const partitionKey = partitionKeyFor('stale-base-test.account');
  const entry = (secret: string, extra: Record<string, string> = {}) => ({ home_account_id: 'h', environment: 'e', credential_type: 'RefreshToken', client_id: 'c', secret, ...extra });
  const cacheWith = (refreshToken: string, x?: string) =>
    JSON.stringify({
      Account: { a: { home_account_id: 'h', environment: 'e' } },
      RefreshToken: { rt: entry(refreshToken) },
      ...(x ? { AccessToken: { x: entry(x, { credential_type: 'AccessToken', target: 't', expires_on: '2', cached_at: '1' }) } } : {}),
    });
  const expiry = () => new Date(Date.now() + 3600_000);
  const writeOver = async (cache: string) => {
    const row = (await table.read(partitionKey))!;
    expect((await table.writeIfUnchanged(partitionKey, cache, expiry(), row.etag)).kind).toBe('written');
  };

  expect((await table.writeIfUnchanged(partitionKey, cacheWith('r0'), expiry(), undefined)).kind).toBe('written');
  let reads = 0;
  const timed = Object.create(table, {
    read: {
      value: async (key: string) => {
        const row = await table.read(key);
        reads += 1;
        if (reads === 2) await writeOver(cacheWith('r0', 'x2')); // C, between A's re-read and A's next write
        return row;
      },
    },
  }) as typeof table;
  const a = new AccountCachePlugin(timed, partitionKey, expiry);
  const context = (ours: string) => ({ cacheHasChanged: true, tokenCache: { deserialize: () => undefined, serialize: () => ours } }) as unknown as Parameters<AccountCachePlugin['afterCacheAccess']>[0];
  await a.beforeCacheAccess(context('')); // A reads v0
  await writeOver(cacheWith('r0', 'x1')); // B
  await a.afterCacheAccess(context(cacheWith('r1'))); // A redeemed its refresh token: r1
  expect(reads).toBe(3);
  expect(a.writes).toBe(1);

  const row = JSON.parse((await table.read(partitionKey))!.cache) as { RefreshToken: Record<string, { secret: string }>; AccessToken: Record<string, { secret: string }> };
  expect(row.RefreshToken['rt']!.secret).toBe('r1');
  expect(row.AccessToken['x']!.secret).toBe('x2');
  await table.delete(partitionKey);
});
