import type { HttpFunctionOptions, SetupOptions } from '@azure/functions';
import { PURGE_SCHEDULE } from '../shared/tokenCache/purge';

/**
 * What the Functions host indexes when the entry module (functions/index.ts) loads: the setup
 * options and every function's name, route, methods and auth level. Plain data, so a cold start
 * reads it without loading any handler's code; the handlers (functions/handlers.ts) load at the
 * first call. Each function file registers its handler under its entry here.
 */

export const APP_SETUP = {
  // Proxied answers are streamed, not buffered.
  enableHttpStream: true,
} as const satisfies SetupOptions;

export interface HttpRoute extends Pick<HttpFunctionOptions, 'route' | 'methods' | 'authLevel'> {
  readonly name: string;
}

const ANY_METHOD = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'] as const satisfies HttpFunctionOptions['methods'];

export const ROUTES = {
  login: { name: 'login', route: 'login', methods: ['GET'], authLevel: 'anonymous' },
  redirect: { name: 'redirect', route: 'redirect', methods: ['GET', 'POST'], authLevel: 'anonymous' },
  me: { name: 'me', route: 'me', methods: ['GET'], authLevel: 'anonymous' },
  proxy: { name: 'proxy', route: 'proxy/{api}/{*path}', methods: [...ANY_METHOD], authLevel: 'anonymous' },
  obo: { name: 'obo', route: 'obo/{api}/{*path}', methods: [...ANY_METHOD], authLevel: 'anonymous' },
  logout: { name: 'logout', route: 'logout', methods: ['GET', 'POST'], authLevel: 'anonymous' },
  logoutFrontChannel: { name: 'logoutFrontChannel', route: 'logout/frontchannel', methods: ['GET'], authLevel: 'anonymous' },
  logoutBackChannel: { name: 'logoutBackChannel', route: 'logout/backchannel', methods: ['POST'], authLevel: 'anonymous' },
  health: { name: 'health', route: 'health', methods: ['GET'], authLevel: 'anonymous' },
  // The page's catch-all route: the host ranks it below every other route anyway.
  web: { name: 'web', route: '{*path}', methods: ['GET', 'HEAD'], authLevel: 'anonymous' },
} as const satisfies Record<string, HttpRoute>;

/** In registration order: the page's catch-all last. */
export const HTTP_ROUTES: readonly HttpRoute[] = Object.values(ROUTES);

export const TIMERS = {
  purgeExpired: { name: 'purgeExpired', schedule: PURGE_SCHEDULE },
} as const;
