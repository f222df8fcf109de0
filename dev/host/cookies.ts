import type { Cookie } from '@azure/functions';

/**
 * Serializes a `Cookie` of `HttpResponseInit.cookies` into one Set-Cookie value, the way the
 * Node worker does (the `cookie` package's serialize): value URI-encoded, attributes in the order
 * Max-Age, Domain, Path, Expires, HttpOnly, Secure, SameSite. Written here rather than imported
 * because `cookie` v2 ships ESM only, which Jest's CommonJS runtime cannot load untransformed.
 */
export function serializeCookie(cookie: Cookie): string {
  if (!COOKIE_NAME.test(cookie.name)) throw new TypeError(`cookie name is invalid: ${cookie.name}`);
  let out = `${cookie.name}=${encodeURIComponent(cookie.value)}`;
  if (cookie.maxAge !== undefined) {
    if (!Number.isFinite(cookie.maxAge)) throw new TypeError(`cookie maxAge is invalid for ${cookie.name}`);
    out += `; Max-Age=${Math.floor(cookie.maxAge)}`;
  }
  if (cookie.domain) out += `; Domain=${checkAttribute(cookie.domain, 'domain', cookie.name)}`;
  if (cookie.path) out += `; Path=${checkAttribute(cookie.path, 'path', cookie.name)}`;
  if (cookie.expires !== undefined) {
    const expires = typeof cookie.expires === 'number' ? new Date(cookie.expires) : cookie.expires;
    if (Number.isNaN(expires.getTime())) throw new TypeError(`cookie expires is invalid for ${cookie.name}`);
    out += `; Expires=${expires.toUTCString()}`;
  }
  if (cookie.httpOnly) out += '; HttpOnly';
  if (cookie.secure) out += '; Secure';
  if (cookie.sameSite) out += `; SameSite=${sameSiteValue(cookie.sameSite, cookie.name)}`;
  return out;
}

// RFC 6265 cookie-name: an RFC 7230 token.
const COOKIE_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** Attribute values must not break out of their attribute (no `;`, no control characters). */
function checkAttribute(value: string, attribute: string, name: string): string {
  if (/[;\u0000-\u001f\u007f]/.test(value)) throw new TypeError(`cookie ${attribute} is invalid for ${name}`);
  return value;
}

function sameSiteValue(sameSite: string, name: string): 'Strict' | 'Lax' | 'None' {
  switch (sameSite.toLowerCase()) {
    case 'strict':
      return 'Strict';
    case 'lax':
      return 'Lax';
    case 'none':
      return 'None';
    default:
      throw new TypeError(`cookie sameSite is invalid for ${name}`);
  }
}
