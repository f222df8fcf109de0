import { setTimeout as delay } from 'node:timers/promises';
import type { TokenCacheTable, RefreshLease } from '../tokenCache/tableStore';
import { PROVIDER_TIMEOUT_MS, TABLE_TIMEOUT_MS, outboundSignal } from '../deadline';
import type { BeforeTokenRequest } from './msalNetwork';

/**
 * Across instances, one refresh per account at a time: before MSAL redeems the account's
 * refresh token, the instance takes a short lease (an ETag-conditional write beside the row).
 * An instance that finds the lease taken waits for it to go, then re-reads the row the
 * winner wrote instead of refreshing too: a provider that rotates refresh tokens (each usable
 * once) then never sees the same one twice. The lease outlives a stuck holder by little: it
 * lasts one token request and one write.
 */
export const REFRESH_LEASE_MS = PROVIDER_TIMEOUT_MS + 2 * TABLE_TIMEOUT_MS;
const POLL_MS = 100;

/** What one acquisition attempt learnt from the hook. */
export interface LeaseState {
  lease?: RefreshLease;
  /** Another instance refreshed (or was refreshing) meanwhile: read the row again. */
  refreshedElsewhere?: boolean;
}

/** MSAL turns any error of the network client into `network_error`: the state says what happened. */
class RefreshedElsewhere extends Error {
  override readonly name = 'RefreshedElsewhere';
}

export function refreshLeaseHook(table: TokenCacheTable, partitionKey: string, state: LeaseState): BeforeTokenRequest {
  return async (body) => {
    if (body.get('grant_type') !== 'refresh_token') return;
    if (state.lease) return; // this attempt already holds it (a second resource in one call)
    const lease = await table.tryTakeRefreshLease(partitionKey, REFRESH_LEASE_MS);
    if (lease) {
      state.lease = lease;
      // A call that read the row before another refresh wrote it may get here after that refresh
      // let go of the lease: its refresh token is then spent (single use). Read the row again instead.
      if (await refreshTokenReplaced(table, partitionKey, body.get('refresh_token'))) {
        state.refreshedElsewhere = true;
        throw new RefreshedElsewhere();
      }
      return;
    }
    await waitForRelease(table, partitionKey);
    state.refreshedElsewhere = true;
    throw new RefreshedElsewhere();
  };
}

/** True when the row no longer holds the refresh token about to be redeemed: someone refreshed since it was read. */
async function refreshTokenReplaced(table: TokenCacheTable, partitionKey: string, refreshToken: string | null): Promise<boolean> {
  if (!refreshToken) return false;
  const row = await table.read(partitionKey);
  if (!row) return false;
  try {
    const held = (JSON.parse(row.cache) as { RefreshToken?: Record<string, { secret?: unknown }> }).RefreshToken ?? {};
    return !Object.values(held).some((entry) => entry?.secret === refreshToken);
  } catch {
    return false;
  }
}

/** Until the holder releases the lease or it runs out; bounded by the lease and the request's deadline. */
async function waitForRelease(table: TokenCacheTable, partitionKey: string): Promise<void> {
  const signal = outboundSignal(REFRESH_LEASE_MS);
  while (!signal.aborted) {
    await delay(POLL_MS, undefined, { signal }).catch(() => undefined);
    const lease = await table.readRefreshLease(partitionKey);
    if (!lease || lease.expiresAt <= Date.now()) return;
  }
}
