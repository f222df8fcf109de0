import type { InvocationContext, Timer } from '@azure/functions';
import type { RuntimeSource } from '../shared/runtime';
import { purgeExpired } from '../shared/tokenCache/purge';
import { TIMERS } from './manifest';
import { describeForLog } from '../shared/errors';

/** A timer function as both hosts need it: the Functions host gets it through app.timer (functions/index.ts). */
export interface TimerFunctionRegistration {
  readonly name: string;
  readonly schedule: string;
  readonly handler: (timer: Timer, context: InvocationContext) => Promise<void>;
}

/** Deletes expired sessions' rows, links and used logout-token ids, in bounded batches. */
export async function purgeExpiredRows(source: RuntimeSource, context: InvocationContext): Promise<void> {
  try {
    const runtime = await source.get();
    const result = await purgeExpired(runtime.tokenCache);
    context.log(JSON.stringify({ event: 'purge', deleted: result.deleted, skipped: result.skipped, pages: result.pages }));
  } catch (error) {
    // The next run tries again; the log names the error's kind, never its message.
    context.warn(`purgeExpired: ${describeForLog(error)}`);
  }
}

export function purgeTimer(source: RuntimeSource): TimerFunctionRegistration {
  return { ...TIMERS.purgeExpired, handler: (_timer, context) => purgeExpiredRows(source, context) };
}
