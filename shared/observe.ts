import { subscribe } from 'node:diagnostics_channel';
import type { ClientRequest, IncomingMessage } from 'node:http';
import { currentRequest, noteDependency, type DependencyName, type RequestScope } from './log';

/**
 * Latency of every outgoing call, from Node's own diagnostics channels: `http.client.*` (the
 * Azure SDK's Table, Key Vault and identity calls, MSAL's token requests) and `undici:*` (fetch:
 * discovery, JWKS, the downstream APIs). Nothing in the domain has to time its calls, and a
 * call made outside any request (start-up) is still seen as a failure when it fails.
 *
 * Calls are named by who makes them (the Azure SDK's user agent) or by where they go (the
 * origins configured for the provider and the downstream APIs). Only the name, the status and
 * the duration are kept: never a URL, a header or a body.
 */

export interface DependencyObservation {
  readonly name: DependencyName;
  readonly method: string;
  /** Origin (scheme, host, port) only: for telemetry's dependency target. */
  readonly origin: string;
  readonly status: number | undefined;
  readonly startTime: number;
  readonly durationMs: number;
  /** The trace context of the request that made the call, if any. */
  readonly traceparent: string | undefined;
}

type Observer = (observation: DependencyObservation) => void;

const origins = new Map<string, DependencyName>();
const observers = new Set<Observer>();
let subscribed = false;

/** The origins of the configured provider and downstream APIs, named for the logs. */
export function nameDependencyOrigins(named: Readonly<Record<string, DependencyName>>): void {
  for (const [url, name] of Object.entries(named)) {
    try {
      origins.set(new URL(url).origin, name);
    } catch {
      // Not a URL: nothing to name.
    }
  }
}

/** Telemetry: every finished call, with its start time. */
export function addDependencyObserver(observer: Observer): () => void {
  observers.add(observer);
  return () => observers.delete(observer);
}

export function dependencyName(origin: string, userAgent: string | undefined): DependencyName {
  const agent = userAgent ?? '';
  if (/azsdk-js-data-tables/i.test(agent)) return 'table';
  if (/azsdk-js-keyvault/i.test(agent)) return 'keyvault';
  if (/azsdk-js-identity/i.test(agent)) return 'identity';
  return origins.get(origin) ?? 'http';
}

interface Pending {
  readonly scope: RequestScope | undefined;
  readonly name: DependencyName;
  readonly method: string;
  readonly origin: string;
  readonly startTime: number;
  readonly started: number;
  done: boolean;
}

function finish(pending: Pending | undefined, status: number | undefined): void {
  if (!pending || pending.done) return;
  pending.done = true;
  const durationMs = performance.now() - pending.started;
  noteDependency(pending.scope, pending.name, durationMs, status);
  const observation: DependencyObservation = { name: pending.name, method: pending.method, origin: pending.origin, status, startTime: pending.startTime, durationMs, traceparent: pending.scope?.traceparent };
  for (const observer of observers) {
    try {
      observer(observation);
    } catch {
      // Telemetry must not fail the call.
    }
  }
}

// The telemetry exporter's own uploads are not the app's dependencies (and would feed themselves).
const IGNORED_AGENTS = /monitor-opentelemetry|opentelemetry-exporter/i;

function start(method: string, origin: string, userAgent: string | undefined): Pending | undefined {
  if (userAgent && IGNORED_AGENTS.test(userAgent)) return undefined;
  return { scope: currentRequest(), name: dependencyName(origin, userAgent), method, origin, startTime: Date.now(), started: performance.now(), done: false };
}

/** Subscribes once per process. */
export function observeDependencies(): void {
  if (subscribed) return;
  subscribed = true;

  const http = new WeakMap<ClientRequest, Pending>();
  subscribe('http.client.request.start', (message) => {
    const { request } = message as { request: ClientRequest };
    const agent = request.getHeader('user-agent');
    // The Host header carries the port when it is not the default one, as an origin does.
    const host = request.getHeader('host');
    const origin = `${request.protocol ?? 'http:'}//${typeof host === 'string' ? host : request.host}`;
    const pending = start(request.method, origin, typeof agent === 'string' ? agent : undefined);
    if (pending) http.set(request, pending);
  });
  subscribe('http.client.response.finish', (message) => {
    const { request, response } = message as { request: ClientRequest; response: IncomingMessage };
    finish(http.get(request), response.statusCode);
  });
  subscribe('http.client.request.error', (message) => {
    finish(http.get((message as { request: ClientRequest }).request), undefined);
  });

  // fetch (undici): the request object is undici's own; only origin, method and headers are read.
  interface UndiciRequest {
    origin: string | URL;
    method: string;
    headers: string | string[];
  }
  const undici = new WeakMap<object, Pending>();
  subscribe('undici:request:create', (message) => {
    const { request } = message as { request: UndiciRequest };
    const pending = start(request.method, String(request.origin).replace(/\/$/, ''), userAgentOf(request.headers));
    if (pending) undici.set(request, pending);
  });
  subscribe('undici:request:headers', (message) => {
    const { request, response } = message as { request: object; response: { statusCode: number } };
    finish(undici.get(request), response.statusCode);
  });
  subscribe('undici:request:error', (message) => {
    finish(undici.get((message as { request: object }).request), undefined);
  });
}

function userAgentOf(headers: string | string[]): string | undefined {
  if (Array.isArray(headers)) {
    for (let i = 0; i < headers.length - 1; i += 2) if (String(headers[i]).toLowerCase() === 'user-agent') return String(headers[i + 1]);
    return undefined;
  }
  return /^user-agent:\s*(.*)$/im.exec(headers)?.[1]?.trim();
}
