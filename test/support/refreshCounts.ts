import type { LocalStack } from '../../dev/stack';

/** Refreshes that reached the dev provider and calls that reached the demo API. */
export interface RefreshCounts {
  readonly refreshes: number;
  readonly demoCalls: number;
}

export function refreshCounts(stack: LocalStack): RefreshCounts {
  return { refreshes: stack.idp!.stats.grants.refresh_token, demoCalls: stack.demoApi!.stats.requests };
}

/** What happened since `before` was read. */
export function refreshCountsSince(stack: LocalStack, before: RefreshCounts): RefreshCounts {
  const now = refreshCounts(stack);
  return { refreshes: now.refreshes - before.refreshes, demoCalls: now.demoCalls - before.demoCalls };
}
