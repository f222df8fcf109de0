import { join } from 'node:path';
import { HTTP_ROUTES, TIMERS } from './manifest';
import type { HttpFunctionRegistration } from './registration';
import type { TimerFunctionRegistration } from './purge';
import type * as Handlers from './handlers';

// Set by scripts/build.mjs: the entry bundle loads the handlers bundle that sits beside it.
declare const HANDLERS_BUNDLE: string | undefined;

/**
 * Every function of the manifest, registered up front with its name, route, methods and auth
 * level, its code started by `start` at the first call to any of them (once per process).
 */
export function lazyFunctions(start: () => Handlers.AppHandlers): { http: HttpFunctionRegistration[]; timers: TimerFunctionRegistration[] } {
  let started: Handlers.AppHandlers | undefined;
  const handlers = () => (started ??= checked(start()));
  const http = HTTP_ROUTES.map(({ name, ...options }): HttpFunctionRegistration => ({
    name,
    options: { ...options, handler: (request, context) => handlers().http.get(name)!(request, context) },
  }));
  const timers = Object.values(TIMERS).map((timer): TimerFunctionRegistration => ({ ...timer, handler: (tick, context) => handlers().timers.get(timer.name)!(tick, context) }));
  return { http, timers };
}

/** The manifest and the code agree: a function without a handler is a build mistake, said once at the first call. */
function checked(handlers: Handlers.AppHandlers): Handlers.AppHandlers {
  const missing = [...HTTP_ROUTES.map((r) => r.name).filter((name) => !handlers.http.has(name)), ...Object.values(TIMERS).map((t) => t.name).filter((name) => !handlers.timers.has(name))];
  if (missing.length > 0) throw new Error(`no handler for ${missing.join(', ')}`);
  return handlers;
}

/** functions/handlers.ts: the bundle beside this one once built, the module itself when run from source. */
export function loadHandlers(): typeof Handlers {
  const path = typeof HANDLERS_BUNDLE === 'string' ? join(__dirname, HANDLERS_BUNDLE) : join(__dirname, 'handlers');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require(path) as typeof Handlers;
}

