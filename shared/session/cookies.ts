import { parseCookie } from 'cookie';

/**
 * The app's cookies: `__Host-` prefixed (Secure, Path=/, no Domain), HttpOnly.
 * Browsers treat http://localhost as a secure context, so the same cookies work locally.
 */
export const SESSION_COOKIE = '__Host-th.session';
export const AUTH_REQUEST_COOKIE = '__Host-th.authreq';

export type SameSite = 'Strict' | 'Lax' | 'None';

/**
 * A cookie the answer sets or clears. The shape is the domain's own; it happens to fit the
 * Functions `Cookie` type, so the transport passes it on unchanged.
 */
export interface ResponseCookie {
  readonly name: string;
  readonly value: string;
  readonly path: string;
  readonly secure: boolean;
  readonly httpOnly: boolean;
  readonly sameSite: SameSite;
  readonly maxAge: number;
  readonly expires?: Date;
}

export function readCookie(cookieHeader: string | null, name: string): string | undefined {
  if (!cookieHeader) return undefined;
  try {
    return parseCookie(cookieHeader)[name];
  } catch {
    return undefined;
  }
}

export function hostCookie(name: string, value: string, maxAgeSeconds: number, sameSite: SameSite): ResponseCookie {
  return { name, value, path: '/', secure: true, httpOnly: true, sameSite, maxAge: maxAgeSeconds };
}

export function expiredCookie(name: string, sameSite: SameSite = 'Lax'): ResponseCookie {
  return { name, value: '', path: '/', secure: true, httpOnly: true, sameSite, maxAge: 0, expires: new Date(0) };
}
