import type { AppConfig } from '../config';
import { safeReturnUrl } from '../returnUrl';

/**
 * Azure AD B2C answers two user choices as errors at the redirect URI, with an AADB2C code in
 * `error_description`; Microsoft.Identity.Web turns them into navigations, not error pages:
 * - AADB2C90118 ("forgot your password?" on the sign-in page): start the reset-password flow;
 * - AADB2C90091 (the user cancelled a flow): back to where the sign-in started, as every
 *   `access_denied` is (signIn.ts), with the page's calm note instead of an error page.
 * Returns where the browser goes, or undefined when the error is not one of them.
 */
export function b2cNavigationForError(config: AppConfig, description: string | null | undefined, returnUrl: string): string | undefined {
  const b2c = config.authority.b2c;
  if (!b2c || !description) return undefined;
  if (description.startsWith('AADB2C90118') && b2c.resetPasswordPolicyId) {
    const query = new URLSearchParams({ policy: b2c.resetPasswordPolicyId, returnUrl: safeReturnUrl(returnUrl) });
    return `/api/login?${query}`;
  }
  return undefined;
}
