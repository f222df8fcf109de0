import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';

/**
 * Structured logs: one JSON line per request and one per notable event, correlated by the
 * Functions invocation id and the W3C traceparent. Lines are built from a closed set of fields
 * whose values are numbers, booleans or short identifiers: no function here accepts a token,
 * a cookie, a code or a claim set, and every string is checked again before it is written.
 *
 * The request scope lives in an AsyncLocalStorage, so the domain notes what happened
 * (`noteTokenOutcome`, `logEvent`) without a logger being passed through every call, and the
 * dependency observer (shared/observe.ts) adds each outgoing call's latency to the request.
 */

export type EventName =
  | 'sign_in'
  | 'refresh'
  | 'consent_required'
  | 'claims_challenge'
  | 'token_rejected'
  | 'sign_out'
  | 'revocation'
  | 'logout_notification'
  | 'credential_reload'
  | 'dependency_failure'
  | 'cache_conflict';

/** How the access token of a proxied (or on-behalf-of) call was obtained. */
export type TokenOutcome = 'cache' | 'refreshed' | 'interaction_required' | 'app_token' | 'on_behalf_of';

export type DependencyName = 'table' | 'keyvault' | 'identity' | 'provider' | 'api' | 'http';

/** What an event may carry: identifiers and numbers only. */
export interface EventFields {
  readonly outcome?: 'success' | 'failed';
  /** A problem code of shared/problems.ts, or an error code of a dependency (`invalid_grant`). */
  readonly code?: string;
  readonly dependency?: DependencyName;
  readonly status?: number;
  readonly durationMs?: number;
  /** A configured downstream API's name. */
  readonly api?: string;
  readonly count?: number;
  readonly reason?: string;
}

export interface DependencySummary {
  calls: number;
  totalMs: number;
  maxMs: number;
  failures: number;
  /** 412: an If-Match write lost to a concurrent one. */
  conflicts: number;
}

export interface RequestScope {
  readonly invocationId: string;
  readonly traceparent: string;
  readonly functionName: string;
  readonly route: string;
  readonly method: string;
  readonly started: number;
  tokenOutcome?: TokenOutcome;
  readonly dependencies: Map<DependencyName, DependencySummary>;
  /** Where this request's lines go (the invocation's log under the Functions host). */
  readonly write: (line: string) => void;
}

export interface RequestStart {
  readonly invocationId: string;
  readonly traceparent?: string | null | undefined;
  readonly functionName: string;
  readonly route: string;
  readonly method: string;
  readonly write?: ((line: string) => void) | undefined;
}

/** Something that wants every event and request as it happens (telemetry metrics). */
export type LogListener = (record: LogRecord) => void;
export type LogRecord = { readonly kind: 'event'; readonly event: EventName; readonly fields: EventFields } | { readonly kind: 'request'; readonly scope: RequestScope; readonly status: number; readonly durationMs: number; readonly code?: string | undefined };

const scopes = new AsyncLocalStorage<RequestScope>();
const defaultWrite = (line: string): void => {
  process.stdout.write(`${line}\n`);
};
let capture: ((line: string) => void) | undefined;
const listeners = new Set<LogListener>();

/** Tests: receive every line instead of the usual destination; undefined restores it. */
export function captureLogLines(writer: ((line: string) => void) | undefined): void {
  capture = writer;
}

export function addLogListener(listener: LogListener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}$/;

/** A valid W3C traceparent as given, or a new one: a header is never logged unchecked. */
export function traceparentOrNew(candidate: string | null | undefined): string {
  const value = candidate?.trim().toLowerCase();
  if (value && TRACEPARENT.test(value) && !/^00-0{32}-/.test(value) && !/-0{16}-/.test(value)) return value;
  // From random UUIDs (Node draws them from a buffered pool of entropy): two randomBytes calls
  // cost more CPU than the rest of the request line. A v4 UUID has 122 random bits and is never
  // zero (its version and variant bits), so neither id can be the all-zero one W3C refuses.
  return `00-${randomUUID().replaceAll('-', '')}-${randomUUID().replaceAll('-', '').slice(16)}-01`;
}

export function currentRequest(): RequestScope | undefined {
  return scopes.getStore();
}

/** Runs `handler` inside a request scope, then writes its request line. */
export async function runLoggedRequest<T>(start: RequestStart, handler: () => Promise<T>, statusOf: (result: T) => { status: number; code?: string | undefined }): Promise<T> {
  const scope: RequestScope = {
    invocationId: start.invocationId,
    traceparent: traceparentOrNew(start.traceparent),
    functionName: start.functionName,
    route: start.route,
    method: start.method,
    started: performance.now(),
    dependencies: new Map(),
    write: start.write ?? defaultWrite,
  };
  let result: T;
  try {
    result = await scopes.run(scope, handler);
  } catch (error) {
    writeRequestLine(scope, 500, 'internal_error');
    throw error;
  }
  const { status, code } = statusOf(result);
  writeRequestLine(scope, status, code);
  return result;
}

function writeRequestLine(scope: RequestScope, status: number, code: string | undefined): void {
  const durationMs = round(performance.now() - scope.started);
  const dependencies: Record<string, DependencySummary> = {};
  for (const [name, summary] of scope.dependencies) dependencies[name] = { ...summary, totalMs: round(summary.totalMs), maxMs: round(summary.maxMs) };
  emit(scope.write, {
    type: 'request',
    ...correlation(scope),
    method: scope.method,
    status,
    ...(code ? { code: safe(code) } : {}),
    durationMs,
    ...(scope.tokenOutcome ? { token: scope.tokenOutcome } : {}),
    dependencies,
  });
  notify({ kind: 'request', scope, status, durationMs, code });
}

/** One line for a notable event, inside the current request's correlation when there is one. */
export function logEvent(event: EventName, fields: EventFields = {}): void {
  const scope = scopes.getStore();
  const clean: Record<string, string | number> = {};
  for (const [key, value] of Object.entries(fields) as [keyof EventFields, unknown][]) {
    if (typeof value === 'number' && Number.isFinite(value)) clean[key] = key === 'durationMs' ? round(value) : value;
    else if (typeof value === 'string') clean[key] = safe(value);
  }
  emit(scope?.write ?? defaultWrite, { type: 'event', event, ...(scope ? correlation(scope) : {}), ...clean });
  notify({ kind: 'event', event, fields });
}

/** The request's token acquisition outcome; the last one noted wins (a retry that refreshed). */
export function noteTokenOutcome(outcome: TokenOutcome): void {
  const scope = scopes.getStore();
  if (scope) scope.tokenOutcome = outcome;
}

/** One outgoing call of the current request (the dependency observer calls this). */
export function noteDependency(scope: RequestScope | undefined, name: DependencyName, durationMs: number, status: number | undefined): void {
  if (scope) {
    const summary = scope.dependencies.get(name) ?? { calls: 0, totalMs: 0, maxMs: 0, failures: 0, conflicts: 0 };
    summary.calls++;
    summary.totalMs += durationMs;
    summary.maxMs = Math.max(summary.maxMs, durationMs);
    if (status === undefined || status >= 500 || status === 429) summary.failures++;
    if (status === 412) summary.conflicts++;
    scope.dependencies.set(name, summary);
  }
  // Outside a request only the app's own dependencies count (start-up reads), not any HTTP client in the process.
  if (!scope && name === 'http') return;
  if (status === undefined || status >= 500 || status === 429) {
    scopes.run(scope as RequestScope, () => logEvent('dependency_failure', { dependency: name, durationMs, ...(status === undefined ? { reason: 'no_response' } : { status }) }));
  } else if (status === 412 && name === 'table') {
    scopes.run(scope as RequestScope, () => logEvent('cache_conflict', { dependency: name, status }));
  }
}

function correlation(scope: RequestScope): Record<string, string> {
  return { invocationId: safe(scope.invocationId), traceparent: scope.traceparent, function: scope.functionName, route: scope.route };
}

function emit(write: (line: string) => void, record: Record<string, unknown>): void {
  const line = JSON.stringify({ time: new Date().toISOString(), ...record });
  try {
    (capture ?? write)(line);
  } catch {
    // A log destination that fails must not fail the request.
  }
}

function notify(record: LogRecord): void {
  for (const listener of listeners) {
    try {
      listener(record);
    } catch {
      // Telemetry must not fail the request either.
    }
  }
}

const round = (ms: number): number => Math.round(ms * 10) / 10;

// A JWT, or any long run of base64url/hex characters (a code, a refresh token, a key, a cookie value).
const SECRET_LIKE = /eyJ[\w-]{5,}\.[\w-]{5,}|[A-Za-z0-9_\-+/=.~]{40,}/;

/** Identifiers pass; anything long, or shaped like a token, does not reach a log line. */
export function safe(value: string): string {
  if (value.length > 120 || SECRET_LIKE.test(value)) return '[redacted]';
  // eslint-disable-next-line no-control-regex
  return value.replace(/[\u0000-\u001f\u007f]/g, '?');
}
