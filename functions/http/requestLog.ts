import type { HttpHandler, HttpRequest, HttpResponse, HttpResponseInit, InvocationContext } from '@azure/functions';
import { runLoggedRequest } from '../../shared/log';

/**
 * Every function's outermost layer: the request's JSON log line (shared/log.ts) with the
 * invocation id, the host's W3C trace context (or the caller's `traceparent`), the route
 * template, status, duration, the problem code of an error answer, and what the domain and the
 * dependency observer noted on the way. The line goes to the invocation's log.
 */
export function logRequests(functionName: string, route: string, handler: HttpHandler): HttpHandler {
  return (request: HttpRequest, context: InvocationContext) =>
    runLoggedRequest(
      {
        invocationId: context.invocationId,
        traceparent: context.traceContext?.traceParent ?? request.headers.get('traceparent'),
        functionName,
        route,
        method: request.method,
        write: (line) => context.log(line),
      },
      async () => (await handler(request, context)) as HttpResponseInit | HttpResponse,
      (response) => ({ status: response.status ?? 200, code: problemCode(response) }),
    );
}

/** The `code` of a problem+json answer (the catalogue's identifiers only). */
function problemCode(response: HttpResponseInit | HttpResponse): string | undefined {
  if (!contentTypeOf(response.headers)?.startsWith('application/problem+json')) return undefined;
  const body = (response as HttpResponseInit).body;
  if (typeof body !== 'string') return undefined;
  try {
    const code = (JSON.parse(body) as { code?: unknown }).code;
    return typeof code === 'string' && /^[a-z_]{1,64}$/.test(code) ? code : undefined;
  } catch {
    return undefined;
  }
}

/** The Content-Type of any shape of headers, without building a Headers (validated, per answer) to ask. */
function contentTypeOf(headers: HttpResponseInit['headers'] | HttpResponse['headers']): string | null | undefined {
  if (!headers) return undefined;
  if (typeof (headers as Headers).get === 'function') return (headers as Headers).get('content-type');
  const entries = Array.isArray(headers) ? (headers as [string, string][]) : Object.entries(headers as Record<string, string>);
  for (const [name, value] of entries) if (name.toLowerCase() === 'content-type') return String(value);
  return undefined;
}
