import type { HttpRequest, HttpResponseInit } from '@azure/functions';
import { PROBLEM_CONTENT_TYPE, problemBody, type ProblemError } from '../../shared/problems';
import type { ResponseCookie } from '../../shared/session/cookies';
import type { ProxiedAnswer } from '../../shared/proxy/forward';
import { errorPage } from './errorPage';

/** Headers on every answer: nothing here is cacheable by a shared cache or sniffable. */
export const BASE_HEADERS = { 'cache-control': 'no-store', 'x-content-type-options': 'nosniff', 'referrer-policy': 'same-origin' } as const;

/** The domain's cookies fit the Functions `Cookie` type as they are. */
function cookiesOf(cookies: readonly ResponseCookie[] | undefined): ResponseCookie[] | undefined {
  return cookies && cookies.length > 0 ? [...cookies] : undefined;
}

export function json(status: number, body: unknown, cookies?: readonly ResponseCookie[]): HttpResponseInit {
  return { status, headers: { ...BASE_HEADERS, 'content-type': 'application/json; charset=utf-8' }, body: JSON.stringify(body), cookies: cookiesOf(cookies) };
}

export function redirect(location: string, cookies?: readonly ResponseCookie[]): HttpResponseInit {
  return { status: 302, headers: { ...BASE_HEADERS, location }, cookies: cookiesOf(cookies) };
}

/** A top-level navigation asks for HTML; script calls (fetch, XHR) do not and carry X-CSRF. */
function prefersHtml(request: HttpRequest | undefined): boolean {
  if (!request || request.headers.get('x-csrf') !== null) return false;
  return (request.headers.get('accept') ?? '').includes('text/html');
}

/** Problem details for an API caller; a small page for a browser navigation (the sign-in callback). */
export function problem(error: ProblemError, request?: HttpRequest): HttpResponseInit {
  const cookies = cookiesOf(error.cookies);
  if (prefersHtml(request)) {
    return {
      status: error.status,
      headers: { ...BASE_HEADERS, ...problemHeaders(error), 'content-type': 'text/html; charset=utf-8', 'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'" },
      body: errorPage(error),
      cookies,
    };
  }
  return { status: error.status, headers: { ...BASE_HEADERS, ...problemHeaders(error), 'content-type': PROBLEM_CONTENT_TYPE }, body: JSON.stringify(problemBody(error)), cookies };
}

/** 503/504 say when to try again; a protected web API's 401/403 say how to authenticate (RFC 6750). */
function problemHeaders(error: ProblemError): Record<string, string> {
  return {
    ...(error.retryAfterSeconds !== undefined ? { 'retry-after': String(error.retryAfterSeconds) } : {}),
    ...(error.challenge !== undefined ? { 'www-authenticate': error.challenge } : {}),
  };
}

/** A downstream API's answer passed on: never sniffed, and not stored unless the API says how. */
export function proxiedResponse(answer: ProxiedAnswer): HttpResponseInit {
  return { status: answer.status, headers: { ...answer.headers, 'x-content-type-options': 'nosniff', 'cache-control': answer.headers['cache-control'] ?? 'no-store' }, body: answer.body ?? undefined };
}
