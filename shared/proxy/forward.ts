import { problems } from '../problems';
import { abortProblem, outboundSignal } from '../deadline';
import { METHODS_WITHOUT_BODY, forwardedRequestHeaders, returnedResponseHeaders } from './proxyRules';

export interface ProxiedAnswer {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: ReadableStream<Uint8Array> | null;
}

/**
 * Sends the call on with the bearer token and hands back the answer as a stream. Redirects are
 * not followed: the token must never travel to a host the API points at. The body was read
 * whole beforehand (bounded), so the same call can be sent twice. `timeoutMs` covers the whole
 * exchange, the streamed answer included.
 */
export async function forwardToApi(target: URL, method: string, incomingHeaders: Headers, body: Uint8Array | null, accessToken: string, timeoutMs: number): Promise<ProxiedAnswer> {
  // Stryker disable next-line ConditionalExpression: fetch sends no body for null as for undefined
  const withBody = !METHODS_WITHOUT_BODY.has(method) && body !== null;
  const signal = outboundSignal(timeoutMs);
  let response: Response;
  try {
    response = await fetch(target, {
      method,
      headers: forwardedRequestHeaders(incomingHeaders, accessToken),
      body: withBody ? body : undefined,
      redirect: 'manual',
      signal,
    });
  } catch {
    if (signal.aborted) throw abortProblem(signal, 'api');
    throw problems.api_unavailable();
  }
  // Stryker disable next-line ConditionalExpression,StringLiteral: Node's fetch already gives a HEAD answer no body; kept for runtimes that do not
  return { status: response.status, headers: returnedResponseHeaders(response.headers), body: method === 'HEAD' ? null : response.body };
}
