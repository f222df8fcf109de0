import type { SetupOptions } from '@azure/functions';
import type { RuntimeSource } from '../shared/runtime';
import type { HttpFunctionDefinition, HttpFunctionRegistration } from './registration';
import { loginFunction } from './login';
import { redirectFunction } from './redirect';
import { meFunction } from './me';
import { proxyFunction } from './proxy';
import { oboFunction } from './obo';
import { logoutFunction } from './logout';
import { logoutFrontChannelFunction } from './logoutFrontChannel';
import { logoutBackChannelFunction } from './logoutBackChannel';
import { healthFunction } from './health';
import { webFunction } from './web';
import { purgeTimer, type TimerFunctionRegistration } from './purge';

/**
 * The app as both hosts see it: the setup options (the Functions host gets them through
 * app.setup in functions/index.ts, the local host in dev/ reads them here) and the HTTP
 * functions, built for one runtime.
 */
export const APP_SETUP = {
  // Proxied answers are streamed, not buffered.
  enableHttpStream: true,
} as const satisfies SetupOptions;

// The page's catch-all route comes last: the host ranks it below every other route anyway.
export const HTTP_FUNCTIONS: readonly HttpFunctionDefinition[] = [loginFunction, redirectFunction, meFunction, proxyFunction, oboFunction, logoutFunction, logoutFrontChannelFunction, logoutBackChannelFunction, healthFunction, webFunction];

export function createHttpFunctions(runtime: RuntimeSource): HttpFunctionRegistration[] {
  return HTTP_FUNCTIONS.map((define) => define(runtime));
}

/** The timer functions, built for one runtime: the purge of expired rows. */
export function createTimerFunctions(runtime: RuntimeSource): TimerFunctionRegistration[] {
  return [purgeTimer(runtime)];
}
