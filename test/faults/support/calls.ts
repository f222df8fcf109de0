import { setTimeout as delay } from 'node:timers/promises';

/** An answer with its body read, and when it came. */
export interface TimedAnswer {
  readonly status: number;
  readonly body: Record<string, unknown>;
  readonly retryAfter: string | null;
  readonly ms: number;
  /** performance.now() when the answer was complete. */
  readonly at: number;
}

export async function timed(call: () => Promise<Response>): Promise<TimedAnswer> {
  const started = performance.now();
  const response = await call();
  const text = await response.text();
  let body: Record<string, unknown> = {};
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    body = { text: text.slice(0, 200) };
  }
  const at = performance.now();
  return { status: response.status, body, retryAfter: response.headers.get('retry-after'), ms: Math.round(at - started), at };
}

/** `status code` of an answer, for figures and failure messages. */
export function outcome(answer: TimedAnswer): string {
  return `${answer.status}${typeof answer.body['code'] === 'string' ? ` ${answer.body['code']}` : ''}`;
}

/**
 * Polls `check` until it returns a value, at most `boundMs`: for conditions that no event
 * announces (a row in the Table, a counter in the provider). Fails naming what was awaited.
 */
export async function waitFor<T>(what: string, boundMs: number, check: () => Promise<T | undefined> | T | undefined): Promise<T> {
  const until = performance.now() + boundMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (performance.now() > until) throw new Error(`${what}: not within ${boundMs} ms`);
    await delay(25);
  }
}
