import type { Cookie, HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import { ConfigurationError, PROBLEM_CONTENT_TYPE, ProblemError, configurationProblem, describeForLog, problemBody } from '../errors';

/** Headers on every answer: nothing here is cacheable by a shared cache or sniffable. */
const BASE_HEADERS = { 'cache-control': 'no-store', 'x-content-type-options': 'nosniff', 'referrer-policy': 'same-origin' } as const;

export function json(status: number, body: unknown, cookies?: Cookie[]): HttpResponseInit {
  return { status, headers: { ...BASE_HEADERS, 'content-type': 'application/json; charset=utf-8' }, body: JSON.stringify(body), cookies };
}

export function redirect(location: string, cookies?: Cookie[]): HttpResponseInit {
  return { status: 302, headers: { ...BASE_HEADERS, location }, cookies };
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** A top-level navigation asks for HTML; script calls (fetch, XHR) do not and carry X-CSRF. */
function prefersHtml(request: HttpRequest | undefined): boolean {
  if (!request || request.headers.get('x-csrf') !== null) return false;
  return (request.headers.get('accept') ?? '').includes('text/html');
}

/** Problem details for an API caller; a small page for a browser navigation (the sign-in callback). */
export function problem(error: ProblemError, request?: HttpRequest): HttpResponseInit {
  const body = problemBody(error);
  const cookies = error.cookies.length > 0 ? [...error.cookies] : undefined;
  if (prefersHtml(request)) {
    const html = `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>${escapeHtml(error.title)}</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:36rem;margin:4rem auto;padding:0 1rem;color:#1b1b1f}code{background:#f1f1f4;padding:.1rem .3rem;border-radius:4px}a{color:#0b57d0}</style></head>
<body><h1>${escapeHtml(error.title)}</h1>${error.detail ? `<p>${escapeHtml(error.detail)}</p>` : ''}<p>Error code: <code>${escapeHtml(error.code)}</code> (HTTP ${error.status})</p><p><a href="/api/">Back to the app</a> · <a href="/api/login?returnUrl=%2Fapi%2F">Sign in again</a></p></body></html>`;
    return { status: error.status, headers: { ...BASE_HEADERS, 'content-type': 'text/html; charset=utf-8', 'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'" }, body: html, cookies };
  }
  return { status: error.status, headers: { ...BASE_HEADERS, 'content-type': PROBLEM_CONTENT_TYPE }, body: JSON.stringify(body), cookies };
}

export type Handler = (request: HttpRequest, context: InvocationContext) => Promise<HttpResponseInit>;

/**
 * Every function's outer layer: known failures become their problem, a configuration error
 * 503 naming the setting, anything else a 500 that says nothing about its cause (the log
 * line names the error's type, never its message, which might quote a token).
 */
export function handleErrors(handler: Handler): Handler {
  return async (request, context) => {
    try {
      return await handler(request, context);
    } catch (error) {
      if (error instanceof ProblemError) {
        if (error.status >= 500) context.warn(`${context.functionName}: ${describeForLog(error)}`);
        return problem(error, request);
      }
      if (error instanceof ConfigurationError) {
        context.error(error.message);
        return problem(configurationProblem(error), request);
      }
      context.error(`${context.functionName}: unexpected ${describeForLog(error)}`);
      return problem(new ProblemError(500, 'internal_error', 'Something went wrong'), request);
    }
  };
}

export function requireAntiForgeryHeader(request: HttpRequest): void {
  if (request.headers.get('x-csrf') !== '1') {
    throw new ProblemError(403, 'antiforgery_header_missing', 'The X-CSRF: 1 header is required');
  }
}
