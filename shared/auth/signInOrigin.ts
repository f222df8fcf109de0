import { isLoopbackHost } from '../config';

/**
 * A sign-in must start on the redirect URI's origin: the auth-request cookie is set where
 * /api/login answers and read where the provider sends the browser back. When the two differ
 * only by a loopback name (127.0.0.1 against localhost, the usual local slip), /api/login sends
 * the browser to the same path on the right origin first. Elsewhere the Host a function sees may
 * be a proxy's rewrite, so nothing is derived from it: the redirect's state_missing answer
 * names the address to open instead.
 */
export function signInOriginRedirect(requestUrl: string, redirectUri: string): string | undefined {
  if (!URL.canParse(requestUrl)) return undefined;
  const request = new URL(requestUrl);
  const expected = new URL(redirectUri);
  if (request.origin === expected.origin) return undefined;
  if (!isLoopbackHost(request.hostname) || !isLoopbackHost(expected.hostname) || request.port !== expected.port) return undefined;
  return `${expected.origin}${request.pathname}${request.search}`;
}

/** The app's page on the redirect URI's origin: the address to start a sign-in from. */
export function appPageUrl(redirectUri: string): string {
  return `${new URL(redirectUri).origin}/api/`;
}
