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
 * The app's functions with their code, built for one runtime: what the local host in dev/ serves
 * directly, and what functions/handlers.ts hands the Functions host at the first call. The setup
 * options and the routes are in functions/manifest.ts.
 */
export { APP_SETUP } from './manifest';

// In the manifest's order: the page's catch-all route last.
export const HTTP_FUNCTIONS: readonly HttpFunctionDefinition[] = [loginFunction, redirectFunction, meFunction, proxyFunction, oboFunction, logoutFunction, logoutFrontChannelFunction, logoutBackChannelFunction, healthFunction, webFunction];

export function createHttpFunctions(runtime: RuntimeSource): HttpFunctionRegistration[] {
  return HTTP_FUNCTIONS.map((define) => define(runtime));
}

/** The timer functions, built for one runtime: the purge of expired rows. */
export function createTimerFunctions(runtime: RuntimeSource): TimerFunctionRegistration[] {
  return [purgeTimer(runtime)];
}
