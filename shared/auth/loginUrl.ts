import type { AppConfig } from '../config';
import { safeReturnUrl } from '../returnUrl';

/**
 * Where the browser should go to sign in or consent (`scopes`: the API's, for incremental
 * consent), coming back to the page it was on: the Referer's path when it is one of the app's
 * own pages, else `/`.
 */
export function loginUrlFor(config: AppConfig, referer: string | null, scopes: readonly string[]): string {
  let returnUrl = '/';
  if (referer && URL.canParse(referer)) {
    const page = new URL(referer);
    if (page.origin === new URL(config.redirectUri).origin) returnUrl = safeReturnUrl(page.pathname + page.search);
  }
  const query = new URLSearchParams({ returnUrl });
  if (scopes.length > 0) query.set('scopes', scopes.join(' '));
  return `/api/login?${query}`;
}
