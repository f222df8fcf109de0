import { InvocationContext, type Timer } from '@azure/functions';
import type { LocalStack } from '../../dev/stack';
import { purgeTimer } from '../../functions/purge';
import { purgeExpired } from '../../shared/tokenCache/purge';
import { partitionKeyFor, REFRESH_LEASE_ROW_KEY, ROW_KEY } from '../../shared/tokenCache/tableStore';
import { CookieJar, send, signIn } from '../support/browserless';
import { cacheTable, homeAccountIdOf } from '../support/cacheRows';
import { startTwoInstances, type SecondInstance } from '../support/secondInstance';

/** The purge timer against real Azurite: expired rows go in bounded batches, live ones stay, two instances at once are safe. */
let stack: LocalStack;
let second: SecondInstance;
let closeBoth: () => Promise<void>;

beforeAll(async () => {
  ({ first: stack, second, close: closeBoth } = await startTwoInstances());
});
afterAll(() => closeBoth?.());

const past = () => new Date(Date.now() - 60_000);

async function expire(partitionKey: string, rowKey = ROW_KEY): Promise<void> {
  await cacheTable(stack).updateEntity({ partitionKey, rowKey, ExpiresOn: past() }, 'Merge');
}

async function junk(prefix: string, count: number): Promise<void> {
  for (let i = 0; i < count; i++) await cacheTable(stack).upsertEntity({ partitionKey: `${prefix}-${i}`, rowKey: 'link', Account: 'x', Issuer: 'x', ExpiresOn: past() }, 'Replace');
}

async function rowsWithPrefix(prefix: string): Promise<number> {
  let n = 0;
  for await (const e of cacheTable(stack).listEntities({ queryOptions: { filter: `PartitionKey ge '${prefix}-' and PartitionKey lt '${prefix}.'` } })) if (e) n++;
  return n;
}

async function allExpired(): Promise<number> {
  let n = 0;
  for await (const e of cacheTable(stack).listEntities({ queryOptions: { filter: `ExpiresOn lt datetime'${new Date().toISOString()}'` } })) if (e) n++;
  return n;
}

function timerContext(): { context: InvocationContext; lines: string[] } {
  const lines: string[] = [];
  const context = new InvocationContext({ functionName: 'purgeExpired', invocationId: 'test', logHandler: (_level, ...args) => lines.push(args.join(' ')) });
  return { context, lines };
}
const timer: Timer = { isPastDue: false, schedule: { adjustForDST: false }, scheduleStatus: { last: '', next: '', lastUpdated: '' } };

test('the timer function deletes an account whose sessions expired and keeps live ones', async () => {
  const ada = new CookieJar();
  const grace = new CookieJar();
  await signIn(stack.appUrl, ada);
  await signIn(stack.appUrl, grace, { username: 'grace@contoso.dev' });
  const adaKey = partitionKeyFor(homeAccountIdOf());
  await expire(adaKey);

  const { context, lines } = timerContext();
  await purgeTimer(stack.runtime).handler(timer, context);
  expect(JSON.parse(lines[0]!)).toMatchObject({ event: 'purge', deleted: 1 });
  await expect(cacheTable(stack).getEntity(adaKey, ROW_KEY)).rejects.toMatchObject({ statusCode: 404 });
  expect((await send(`${stack.appUrl}/api/me`, ada)).status).toBe(401);
  expect((await send(`${stack.appUrl}/api/me`, grace)).status).toBe(200);
  expect(await allExpired()).toBe(0);
});

test('bounded batches: a run reads at most maxPages pages of pageSize rows; a backlog goes over several runs', async () => {
  await junk('batch', 25);
  const runtime = await stack.runtime.get();
  const first = await purgeExpired(runtime.tokenCache, { pageSize: 10, maxPages: 2 });
  // The service may return short pages (it is allowed to), so a run deletes at most 20 here.
  expect(first.pages).toBeLessThanOrEqual(2);
  expect(first.deleted).toBeGreaterThan(0);
  expect(first.deleted).toBeLessThanOrEqual(20);
  expect(await rowsWithPrefix('batch')).toBe(25 - first.deleted);
  for (let run = 0; run < 10 && (await rowsWithPrefix('batch')) > 0; run++) {
    const next = await purgeExpired(runtime.tokenCache, { pageSize: 10, maxPages: 2 });
    expect(next.pages).toBeLessThanOrEqual(2);
    expect(next.deleted).toBeLessThanOrEqual(20);
  }
  expect(await rowsWithPrefix('batch')).toBe(0);
});

test('two instances purging at once delete every expired row exactly once between them, without errors', async () => {
  await junk('pair', 40);
  const [a, b] = await Promise.all([purgeExpired((await stack.runtime.get()).tokenCache, { pageSize: 5 }), purgeExpired((await second.getRuntime()).tokenCache, { pageSize: 5 })]);
  expect(a.deleted + b.deleted).toBe(40);
  expect(await rowsWithPrefix('pair')).toBe(0);
});

test('a row renewed after the query saw it expired is not deleted (the delete is conditional on the ETag)', async () => {
  await junk('renewed', 1);
  const runtime = await stack.runtime.get();
  const [page] = await firstPage(runtime.tokenCache.expiredPages(new Date(), 100));
  const seen = page!.find((r) => r.partitionKey === 'renewed-0')!;
  await cacheTable(stack).updateEntity({ partitionKey: 'renewed-0', rowKey: 'link', ExpiresOn: new Date(Date.now() + 3600_000) }, 'Merge');
  expect(await runtime.tokenCache.delete(seen.partitionKey, seen.etag, seen.rowKey)).toBe(false);
  expect(await rowsWithPrefix('renewed')).toBe(1);
});

test('a refresh lease its holder never released (the process died) is purged once it has run out; a live one stays', async () => {
  const runtime = await stack.runtime.get();
  const abandoned = await runtime.tokenCache.tryTakeRefreshLease('lease-abandoned', 60_000);
  const live = await runtime.tokenCache.tryTakeRefreshLease('lease-live', 3600_000);
  expect(abandoned && live).toBeTruthy();
  // What the purge sees two minutes later: the first lease has run out, the second has not.
  const result = await purgeExpired(runtime.tokenCache, { now: new Date(Date.now() + 120_000) });
  expect(result.deleted).toBeGreaterThanOrEqual(1);
  await expect(cacheTable(stack).getEntity('lease-abandoned', REFRESH_LEASE_ROW_KEY)).rejects.toMatchObject({ statusCode: 404 });
  expect(await runtime.tokenCache.readRefreshLease('lease-live')).toMatchObject({ etag: live!.etag });
  await runtime.tokenCache.releaseRefreshLease('lease-live', live!);
  expect(await runtime.tokenCache.readRefreshLease('lease-live')).toBeUndefined();
});

async function firstPage<T>(pages: AsyncGenerator<T>): Promise<T[]> {
  for await (const page of pages) return [page];
  return [];
}

test('the local host runs the timer on its schedule (every 15 minutes)', () => {
  const next = stack.timers.next()['purgeExpired']!;
  expect(next.getTime()).toBeGreaterThan(Date.now());
  expect(next.getTime() - Date.now()).toBeLessThanOrEqual(15 * 60_000);
  expect(next.getUTCMinutes() % 15).toBe(0);
  expect(next.getUTCSeconds()).toBe(0);
});
