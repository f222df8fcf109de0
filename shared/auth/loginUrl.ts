import type { AppConfig } from '../config';
import { safeReturnUrl } from '../returnUrl';
import { RecentMap } from '../recentMap';

/**
 * Where the browser should go to sign in or consent (`scopes`: the API's, for incremental
 * consent), coming back to the page it was on: the Referer's path when it is one of the app's
 * own pages, else `/`.
 */
export function loginUrlFor(config: AppConfig, referer: string | null, scopes: readonly string[]): string {
  // Every proxied call needs one at hand for its 401s, and the same few pages ask again and again:
  // parsing two URLs and building a query each time was a tenth of the call's own CPU.
  const key = `${scopes.join(' ')}\n${referer ?? ''}`;
  let known = recent.get(config);
  if (!known) recent.set(config, (known = new RecentMap(MAX_REMEMBERED)));
  const url = known.get(key);
  if (url !== undefined) return url;
  const built = buildLoginUrl(config, referer, scopes);
  if (key.length <= MAX_KEY_LENGTH) known.set(key, built);
  return built;
}

/** Bounded: the Referer is the caller's to choose. */
const MAX_REMEMBERED = 500;
const MAX_KEY_LENGTH = 1_000;
const recent = new WeakMap<AppConfig, RecentMap<string, string>>();

function buildLoginUrl(config: AppConfig, referer: string | null, scopes: readonly string[]): string {
  let returnUrl = '/';
  if (referer && URL.canParse(referer)) {
    const page = new URL(referer);
    if (page.origin === new URL(config.redirectUri).origin) returnUrl = safeReturnUrl(page.pathname + page.search);
  }
  const query = new URLSearchParams({ returnUrl });
  if (scopes.length > 0) query.set('scopes', scopes.join(' '));
  return `/api/login?${query}`;
}
