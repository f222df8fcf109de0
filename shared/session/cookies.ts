import { parseCookie } from 'cookie';
import type { Cookie } from '@azure/functions';

/**
 * The app's cookies: `__Host-` prefixed (Secure, Path=/, no Domain), HttpOnly.
 * Browsers treat http://localhost as a secure context, so the same cookies work locally.
 */
export const SESSION_COOKIE = '__Host-th.session';
export const AUTH_REQUEST_COOKIE = '__Host-th.authreq';

export type SameSite = 'Strict' | 'Lax' | 'None';

export function readCookie(cookieHeader: string | null, name: string): string | undefined {
  if (!cookieHeader) return undefined;
  try {
    return parseCookie(cookieHeader)[name];
  } catch {
    return undefined;
  }
}

export function hostCookie(name: string, value: string, maxAgeSeconds: number, sameSite: SameSite): Cookie {
  return { name, value, path: '/', secure: true, httpOnly: true, sameSite, maxAge: maxAgeSeconds };
}

export function expiredCookie(name: string, sameSite: SameSite = 'Lax'): Cookie {
  return { name, value: '', path: '/', secure: true, httpOnly: true, sameSite, maxAge: 0, expires: new Date(0) };
}
