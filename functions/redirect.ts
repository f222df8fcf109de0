import type { HttpRequest, HttpResponseInit } from '@azure/functions';
import type { RuntimeSource } from '../shared/runtime';
import { completeSignIn } from '../shared/auth/signIn';
import { ProblemError, problems } from '../shared/problems';
import { logEvent } from '../shared/log';
import { redirect as redirectTo } from './http/responses';
import { httpFunction } from './registration';
import { ROUTES } from './manifest';
import { readBoundedBody } from '../shared/boundedBody';

const MAX_FORM_BYTES = 64 * 1024;

/** The provider's answer: the posted form (form_post) or the query string. */
async function authorizationResponse(request: HttpRequest): Promise<URLSearchParams> {
  if (request.method !== 'POST') return request.query;
  const type = request.headers.get('content-type') ?? '';
  if (!type.startsWith('application/x-www-form-urlencoded')) throw problems.callback_invalid('The sign-in response must be a form post.');
  // Read no more than the limit: a huge post is refused without being held in memory.
  const tooLarge = () => problems.callback_invalid(`The sign-in response is too large: the form may hold at most ${MAX_FORM_BYTES} bytes.`);
  const bytes = await readBoundedBody(request.body as ReadableStream<Uint8Array> | null, request.headers.get('content-length'), MAX_FORM_BYTES, tooLarge);
  return new URLSearchParams(new TextDecoder().decode(bytes ?? new Uint8Array()));
}

export async function redirect(request: HttpRequest, source: RuntimeSource): Promise<HttpResponseInit> {
  const runtime = await source.get();
  const params = await authorizationResponse(request);
  try {
    const { location, cookies } = await completeSignIn(runtime, { code: params.get('code'), state: params.get('state'), error: params.get('error'), errorDescription: params.get('error_description'), iss: params.get('iss') }, request.headers.get('cookie'));
    logEvent('sign_in', { outcome: 'success' });
    return redirectTo(location, cookies);
  } catch (error) {
    logEvent('sign_in', { outcome: 'failed', code: error instanceof ProblemError ? error.code : 'internal_error' });
    throw error;
  }
}

export const redirectFunction = httpFunction(ROUTES.redirect, redirect);
