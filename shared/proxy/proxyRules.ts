import type { DownstreamApiConfig } from '../config';
import { problems, type ProblemError } from '../problems';

/**
 * What may cross the proxy. The path must stay under the API's base URL: no dot segments
 * (plain or encoded), no encoded slash or backslash, no backslash, no control characters.
 */
function badPath(detail: string): ProblemError {
  return problems.proxy_path_invalid(detail);
}

function isDotSegment(segment: string): boolean {
  return segment === '.' || segment === '..';
}

/**
 * Checks the `{*path}` route value as the host gives it (percent-decoded except `%2F`) and
 * returns it re-encoded segment by segment for the downstream URL.
 */
export function validateProxyPath(path: string | undefined): string {
  const value = path ?? '';
  if (value.length > 4096) throw badPath('The path is too long.');
  if (value.includes('\\')) throw badPath('Backslashes are not allowed.');
  if (/%(2e|2f|5c)/i.test(value)) throw badPath('Encoded dots, slashes and backslashes are not allowed.');
  if (/[\u0000-\u001f\u007f]/.test(value)) throw badPath('Control characters are not allowed.');
  const segments = value.split('/');
  // A segment's path parameters (`..;x`, `.;`) are dropped by several Java servers before they resolve dot segments.
  if (segments.some((s) => isDotSegment(s.split(';')[0]!))) throw badPath('Dot segments are not allowed, with or without path parameters.');
  if (value.startsWith('/') || /^[a-z][a-z0-9+.-]*:/i.test(value)) throw badPath('The path must be relative to the API.');
  return segments.map(encodePathSegment).join('/');
}

/** Percent-encodes what a path segment may not hold raw, keeping RFC 3986 sub-delims, ':' and '@'. */
export function encodePathSegment(segment: string): string {
  return encodeURIComponent(segment).replace(/%(3A|40|21|24|26|27|28|29|2A|2B|2C|3B|3D)/gi, (m) => decodeURIComponent(m));
}

/** The downstream URL, proved to be under the API's base URL after the URL parser has had its say. */
export function downstreamUrl(api: DownstreamApiConfig, encodedPath: string, search: string): URL {
  const base = baseUrlOf(api);
  const target = new URL(encodedPath + search, base);
  if (target.origin !== base.origin || !target.pathname.startsWith(base.pathname)) throw badPath('The path leaves the API.');
  return target;
}

/** Parsed once per configured API; only read, never changed. */
const baseUrls = new WeakMap<DownstreamApiConfig, URL>();
function baseUrlOf(api: DownstreamApiConfig): URL {
  let base = baseUrls.get(api);
  if (!base) baseUrls.set(api, (base = new URL(api.baseUrl)));
  return base;
}

export function findApi(apis: ReadonlyMap<string, DownstreamApiConfig>, name: string | undefined): DownstreamApiConfig {
  const api = name ? apis.get(name.toLowerCase()) : undefined;
  if (!api) throw problems.api_unknown('No downstream API of that name is configured.');
  return api;
}

/** Request headers a downstream API may see. Never the browser's Cookie or Authorization. */
const FORWARDED_REQUEST_HEADERS = [
  'accept',
  'accept-language',
  'content-type',
  'content-language',
  'if-match',
  'if-none-match',
  'if-modified-since',
  'if-unmodified-since',
  'prefer',
  'range',
  'x-request-id',
  'traceparent',
  'tracestate',
  'consistencylevel',
];

/** Response headers passed back. Never Set-Cookie, hop-by-hop headers or the downstream's CORS policy. */
const RETURNED_RESPONSE_HEADERS = [
  'content-type',
  'content-language',
  'content-disposition',
  'content-range',
  'accept-ranges',
  'cache-control',
  'etag',
  'last-modified',
  'expires',
  'retry-after',
  'x-request-id',
  'request-id',
  'client-request-id',
  'www-authenticate',
  'preference-applied',
];

/** A plain record: fetch validates it once as it builds its request (a Headers here was validated twice). */
export function forwardedRequestHeaders(incoming: Headers, accessToken: string): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const name of FORWARDED_REQUEST_HEADERS) {
    const value = incoming.get(name);
    if (value !== null) headers[name] = value;
  }
  headers['authorization'] = `Bearer ${accessToken}`;
  return headers;
}

export function returnedResponseHeaders(downstream: Headers): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const name of RETURNED_RESPONSE_HEADERS) {
    const value = downstream.get(name);
    if (value !== null) headers[name] = value;
  }
  return headers;
}

export const METHODS_WITHOUT_BODY = new Set(['GET', 'HEAD', 'OPTIONS']);
