import { problems } from '../problems';
import { METHODS_WITHOUT_BODY, forwardedRequestHeaders, returnedResponseHeaders } from './proxyRules';

const DOWNSTREAM_TIMEOUT_MS = 100_000;

export interface ProxiedAnswer {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: ReadableStream<Uint8Array> | null;
}

/**
 * Sends the call on with the bearer token and hands back the answer as a stream. Redirects are
 * not followed: the token must never travel to a host the API points at.
 */
export async function forwardToApi(target: URL, method: string, incomingHeaders: Headers, body: ReadableStream<Uint8Array> | null, accessToken: string): Promise<ProxiedAnswer> {
  const withBody = !METHODS_WITHOUT_BODY.has(method) && body !== null;
  let response: Response;
  try {
    response = await fetch(target, {
      method,
      headers: forwardedRequestHeaders(incomingHeaders, accessToken),
      body: withBody ? body : undefined,
      redirect: 'manual',
      signal: AbortSignal.timeout(DOWNSTREAM_TIMEOUT_MS),
      ...(withBody ? { duplex: 'half' } : {}),
    } as RequestInit);
  } catch {
    throw problems.api_unavailable();
  }
  return { status: response.status, headers: returnedResponseHeaders(response.headers), body: method === 'HEAD' ? null : response.body };
}
