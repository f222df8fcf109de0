import type { Cookie } from '@azure/functions';
import { stringifySetCookie } from 'cookie';

/**
 * Serializes a `Cookie` of `HttpResponseInit.cookies` into one Set-Cookie value as the Node
 * worker does in stream mode (`httpProxy.ts` `setCookies`): with the `cookie` package, SameSite
 * lower-cased for it, a numeric `expires` read as a date. (The worker pins cookie 0.7's
 * `serialize`; this is the same serializer's current version, checked against the worker's
 * output in test/dev/host.test.ts.)
 */
export function serializeCookie(cookie: Cookie): string {
  return stringifySetCookie({
    name: cookie.name,
    value: cookie.value,
    domain: cookie.domain,
    path: cookie.path,
    expires: typeof cookie.expires === 'number' ? new Date(cookie.expires) : cookie.expires,
    secure: cookie.secure,
    httpOnly: cookie.httpOnly,
    sameSite: cookie.sameSite?.toLowerCase() as 'lax' | 'strict' | 'none' | undefined,
    // cookie 0.7 floors a fractional Max-Age; its successor refuses one.
    maxAge: cookie.maxAge === undefined ? undefined : Math.floor(cookie.maxAge),
  });
}
