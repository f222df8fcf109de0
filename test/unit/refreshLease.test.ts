import { REFRESH_LEASE_MS, refreshLeaseHook, type LeaseState } from '../../shared/auth/refreshLease';
import type { TokenCacheTable } from '../../shared/tokenCache/tableStore';
import { runWithDeadline } from '../../shared/deadline';

/** The cross-instance refresh lease, taken before a refresh-token redemption (Azurite's side: test/integration/tokenCacheTable.test.ts). */
function table(options: { take: boolean; leaseReads?: ({ etag: string; expiresAt: number } | undefined)[] }) {
  const calls: string[] = [];
  const reads = [...(options.leaseReads ?? [])];
  const fake = {
    async tryTakeRefreshLease(pk: string, ms: number) {
      calls.push(`take ${pk} ${ms}`);
      return options.take ? { etag: 'lease-1' } : undefined;
    },
    async readRefreshLease(pk: string) {
      calls.push(`read ${pk}`);
      return reads.length > 0 ? reads.shift() : { etag: 'theirs', expiresAt: Date.now() + 60_000 };
    },
  };
  return { table: fake as unknown as TokenCacheTable, calls };
}
const grant = (type: string) => new URLSearchParams({ grant_type: type });

test('the lease lasts one token request and one write', () => {
  expect(REFRESH_LEASE_MS).toBe(10_000 + 2 * 5_000);
});

test('only a refresh-token redemption takes the lease', async () => {
  const t = table({ take: true });
  const state: LeaseState = {};
  await refreshLeaseHook(t.table, 'pk', state)(grant('authorization_code'));
  await refreshLeaseHook(t.table, 'pk', state)(grant('client_credentials'));
  expect(t.calls).toEqual([]);
  expect(state).toEqual({});
});

test('taken: kept in the state, and a second resource in the same attempt does not take it again', async () => {
  const t = table({ take: true });
  const state: LeaseState = {};
  const hook = refreshLeaseHook(t.table, 'pk', state);
  await hook(grant('refresh_token'));
  expect(state).toEqual({ lease: { etag: 'lease-1' } });
  await hook(grant('refresh_token'));
  expect(t.calls).toEqual([`take pk ${REFRESH_LEASE_MS}`]);
});

test('held elsewhere: waits until it is released, then says the row was refreshed elsewhere (no refresh here)', async () => {
  const t = table({ take: false, leaseReads: [{ etag: 'theirs', expiresAt: Date.now() + 60_000 }, undefined] });
  const state: LeaseState = {};
  const failure = await refreshLeaseHook(t.table, 'pk', state)(grant('refresh_token')).catch((e: unknown) => e);
  expect(failure).toBeInstanceOf(Error);
  expect((failure as Error).name).toBe('RefreshedElsewhere');
  expect(state).toEqual({ refreshedElsewhere: true });
  expect(t.calls).toEqual([`take pk ${REFRESH_LEASE_MS}`, 'read pk', 'read pk']);
});

test('a lease that has run out counts as released', async () => {
  const t = table({ take: false, leaseReads: [{ etag: 'theirs', expiresAt: Date.now() - 1 }] });
  const state: LeaseState = {};
  await expect(refreshLeaseHook(t.table, 'pk', state)(grant('refresh_token'))).rejects.toThrow();
  expect(t.calls).toEqual([`take pk ${REFRESH_LEASE_MS}`, 'read pk']);
  expect(state.refreshedElsewhere).toBe(true);
});

test('the wait ends with the request\'s deadline even when the holder never lets go', async () => {
  const t = table({ take: false });
  const state: LeaseState = {};
  let hookDone!: Promise<unknown>;
  await runWithDeadline(300, () => {
    hookDone = refreshLeaseHook(t.table, 'pk', state)(grant('refresh_token')).catch((e: unknown) => e);
    return hookDone;
  }).catch(() => undefined);
  // The hook itself stops polling once the deadline's signal fires (its own bound is 20 s: ~200 polls).
  expect(((await hookDone) as Error).name).toBe('RefreshedElsewhere');
  expect(t.calls.filter((c) => c === 'read pk').length).toBeLessThan(50);
});
