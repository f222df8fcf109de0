/**
 * Timer functions on the local host: the same NCRONTAB schedules the Functions host reads
 * (six fields: second minute hour day month day-of-week; `*`, numbers, `a-b`, lists and `/step`).
 * Each timer waits for its next occurrence, runs, and waits again; a run still going when the
 * next one is due is not doubled. close() stops them.
 */
import { randomUUID } from 'node:crypto';
import { format } from 'node:util';
import { InvocationContext, trigger, type Timer } from '@azure/functions';
import type { TimerFunctionRegistration } from '../functions/purge';

const RANGES: readonly [number, number][] = [
  [0, 59],
  [0, 59],
  [0, 23],
  [1, 31],
  [1, 12],
  [0, 6],
];
/** The search for the next occurrence looks this far ahead (a schedule that never matches is refused). */
const HORIZON_SECONDS = 366 * 24 * 60 * 60;

function parseField(text: string, [min, max]: [number, number]): Set<number> {
  const values = new Set<number>();
  for (const part of text.split(',')) {
    const [range, stepText] = part.split('/');
    const step = stepText === undefined ? 1 : Number(stepText);
    let [from, to] = range === '*' ? [min, max] : (range!.split('-').map(Number) as [number, number?]);
    to ??= stepText === undefined ? from : max;
    if (![from, to, step].every(Number.isInteger) || step < 1 || from < min || to > max || from > to) throw new Error(`invalid NCRONTAB field "${text}"`);
    for (let v = from; v <= to; v += step) values.add(v);
  }
  return values;
}

export function parseSchedule(schedule: string): Set<number>[] {
  const fields = schedule.trim().split(/\s+/);
  if (fields.length !== 6) throw new Error(`NCRONTAB needs six fields (second minute hour day month day-of-week): "${schedule}"`);
  return fields.map((field, i) => parseField(field, RANGES[i]!));
}

/** The first second after `after` (UTC, as the Functions host without WEBSITE_TIME_ZONE) that the schedule matches. */
export function nextOccurrence(schedule: string, after: Date): Date {
  const [sec, min, hour, day, month, dow] = parseSchedule(schedule);
  const start = Math.floor(after.getTime() / 1000) + 1;
  for (let t = start; t < start + HORIZON_SECONDS; t++) {
    const d = new Date(t * 1000);
    if (!month!.has(d.getUTCMonth() + 1) || !day!.has(d.getUTCDate()) || !dow!.has(d.getUTCDay())) {
      t += 86400 - (t % 86400) - 1;
      continue;
    }
    if (!hour!.has(d.getUTCHours())) {
      t += 3600 - (t % 3600) - 1;
      continue;
    }
    if (!min!.has(d.getUTCMinutes())) {
      t += 60 - (t % 60) - 1;
      continue;
    }
    if (sec!.has(d.getUTCSeconds())) return d;
  }
  throw new Error(`the schedule "${schedule}" never fires`);
}

export interface LocalTimers {
  /** When each timer runs next. */
  next(): Record<string, Date>;
  close(): Promise<void>;
}

export function startTimers(timers: readonly TimerFunctionRegistration[], log: (line: string) => void): LocalTimers {
  const handles = new Map<string, NodeJS.Timeout>();
  const due = new Map<string, Date>();
  const running = new Set<Promise<void>>();
  let closed = false;

  const schedule = (timer: TimerFunctionRegistration): void => {
    if (closed) return;
    const at = nextOccurrence(timer.schedule, new Date());
    due.set(timer.name, at);
    const handle = setTimeout(() => {
      const context = new InvocationContext({
        functionName: timer.name,
        invocationId: randomUUID(),
        logHandler: (level, ...args) => log(`[${timer.name}] ${level}: ${format(...args)}`),
        options: { trigger: trigger.timer({ schedule: timer.schedule }), extraInputs: [], extraOutputs: [] },
      });
      const info: Timer = { isPastDue: false, schedule: { adjustForDST: false }, scheduleStatus: { last: new Date().toISOString(), next: '', lastUpdated: new Date().toISOString() } };
      const run = timer
        .handler(info, context)
        .catch((error: unknown) => log(`[${timer.name}] error: ${error instanceof Error ? error.name : typeof error}`))
        .finally(() => {
          running.delete(run);
          schedule(timer);
        });
      running.add(run);
    }, Math.max(0, at.getTime() - Date.now()));
    handle.unref();
    handles.set(timer.name, handle);
  };
  for (const timer of timers) {
    schedule(timer);
    log(`${timer.name}: [timer] ${timer.schedule}`);
  }
  return {
    next: () => Object.fromEntries(due),
    close: async () => {
      closed = true;
      for (const handle of handles.values()) clearTimeout(handle);
      await Promise.allSettled([...running]);
    },
  };
}
