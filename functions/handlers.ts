import type { HttpHandler } from '@azure/functions';
import { processSettings, type Settings } from '../shared/config';
import { observeDependencies } from '../shared/observe';
import { runtimeSource, type RuntimeOptions } from '../shared/runtime';
import { createHttpFunctions, createTimerFunctions } from './app';
import type { TimerFunctionRegistration } from './purge';

/**
 * The code behind the registrations functions/index.ts makes: a bundle of its own (handlers.js
 * beside app.js) that the entry loads at the first call, so a cold start evaluates neither zod
 * nor MSAL, the Table SDK or jose before a request needs them.
 */
export interface AppHandlers {
  readonly http: ReadonlyMap<string, HttpHandler>;
  readonly timers: ReadonlyMap<string, TimerFunctionRegistration['handler']>;
}

/**
 * Every function's handler, sharing one runtime for the process, built at the first request (or
 * timer run) from the app settings: a bad setting is answered by every function as before (503
 * problem+json naming it).
 */
export function startHandlers(settings: Settings | (() => Settings) = processSettings, options: RuntimeOptions = {}): AppHandlers {
  // Latency of every outgoing call, for the request log lines.
  observeDependencies();
  const runtime = runtimeSource(settings, options);
  return {
    http: new Map(createHttpFunctions(runtime).map((fn) => [fn.name, fn.options.handler])),
    timers: new Map(createTimerFunctions(runtime).map((timer) => [timer.name, timer.handler])),
  };
}
