import { AsyncLocalStorage } from 'node:async_hooks';
import { ProblemError, problems } from './problems';

/**
 * Time limits. Azure Functions cuts a request at 230 s, with nothing useful to the caller: every
 * request gets its own, much shorter deadline, and every outbound call a timeout of its own that
 * also ends when the request's deadline does. The defaults are written in the README.
 */
export const REQUEST_DEADLINE_MS = 120_000;
export const TABLE_TIMEOUT_MS = 5_000;
export const PROVIDER_TIMEOUT_MS = 10_000;
export const KEY_VAULT_TIMEOUT_MS = 5_000;
export const MANAGED_IDENTITY_TIMEOUT_MS = 5_000;
export const DEFAULT_API_TIMEOUT_MS = 30_000;
/** The dependencies whose timeouts have a code of their own. */
export type Dependency = 'token_cache' | 'provider' | 'key_vault' | 'managed_identity' | 'api';

/** 504 `<dependency>_timeout`, with Retry-After. */
export function dependencyTimeout(dependency: Dependency): ProblemError {
  return problems[`${dependency}_timeout`]();
}

export function requestDeadlineExceeded(): ProblemError {
  return problems.request_deadline_exceeded('A service the app depends on is slow; try again shortly.');
}

interface Deadline {
  readonly signal: AbortSignal;
  readonly expiresAt: number;
}

const current = new AsyncLocalStorage<Deadline>();

/**
 * Runs a request under a deadline. The returned promise settles by the deadline at the latest,
 * even when some call ignores the abort signal, so the caller is answered and the process keeps
 * serving others (work still running then is aborted through `outboundSignal`).
 */
export async function runWithDeadline<T>(ms: number, work: () => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const deadline: Deadline = { signal: controller.signal, expiresAt: Date.now() + ms };
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const problem = requestDeadlineExceeded();
      controller.abort(problem);
      reject(problem);
    }, ms);
  });
  try {
    return await Promise.race([current.run(deadline, work), expired]);
  } finally {
    // Not aborted on success: a proxied answer is still streaming under its own timeout.
    clearTimeout(timer);
  }
}

/** Runs clean-up that must happen even after the request's deadline has passed: outbound calls in it get their own timeouts only. */
export function outsideDeadline<T>(work: () => T): T {
  return current.exit(work);
}

/** An abort signal for one outbound call: its own timeout, or the request's deadline if sooner. */
export function outboundSignal(timeoutMs: number): AbortSignal {
  const own = AbortSignal.timeout(timeoutMs);
  const deadline = current.getStore();
  // The deadline's signal fires at its expiry only: a call whose own timeout comes first needs no
  // composite signal (AbortSignal.any and its bookkeeping showed in the hot path's profile, twice per proxied call).
  if (!deadline || (!deadline.signal.aborted && Date.now() + timeoutMs <= deadline.expiresAt)) return own;
  return AbortSignal.any([own, deadline.signal]);
}

/** Milliseconds left before the request's deadline (Infinity outside a request). */
export function remainingMs(): number {
  const deadline = current.getStore();
  return deadline ? Math.max(0, deadline.expiresAt - Date.now()) : Number.POSITIVE_INFINITY;
}

/** The request's deadline problem once it has passed, for failures whose signal is not at hand. */
export function deadlineProblem(): ProblemError | undefined {
  const reason = current.getStore()?.signal.reason;
  return reason instanceof ProblemError ? reason : undefined;
}

/** The problem for a call cut by `signal`: its own timeout (504) or the request's deadline (503). */
export function abortProblem(signal: AbortSignal, dependency: Dependency): ProblemError {
  return signal.reason instanceof ProblemError ? signal.reason : dependencyTimeout(dependency);
}

/**
 * Runs one outbound call with a timeout. When the signal fired, the failure is the timeout's
 * problem whatever the library made of the abort; other failures pass through unchanged.
 */
export async function withTimeout<T>(dependency: Dependency, timeoutMs: number, call: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const signal = outboundSignal(timeoutMs);
  try {
    return await call(signal);
  } catch (error) {
    if (signal.aborted) throw abortProblem(signal, dependency);
    throw error;
  }
}
