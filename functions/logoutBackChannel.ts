import type { HttpRequest, HttpResponseInit } from '@azure/functions';
import type { RuntimeSource } from '../shared/runtime';
import { backChannelLogout } from '../shared/session/logoutNotifications';
import { problems } from '../shared/problems';
import { logEvent } from '../shared/log';
import { BASE_HEADERS } from './http/responses';
import { httpFunction } from './registration';
import { ROUTES } from './manifest';

const MAX_FORM_BYTES = 32 * 1024;

/** OpenID Connect Back-Channel Logout: the provider posts a signed `logout_token` (form-encoded). */
export async function logoutBackChannel(request: HttpRequest, source: RuntimeSource): Promise<HttpResponseInit> {
  const runtime = await source.get();
  if (!(request.headers.get('content-type') ?? '').startsWith('application/x-www-form-urlencoded')) {
    throw problems.logout_token_invalid('The logout_token must be posted as application/x-www-form-urlencoded.', { error: 'invalid_request' });
  }
  const text = await request.text();
  if (text.length > MAX_FORM_BYTES) throw problems.logout_token_invalid('The request is too large.', { error: 'invalid_request' });
  const outcome = await backChannelLogout(runtime, new URLSearchParams(text).get('logout_token'));
  logEvent('logout_notification', { reason: 'backchannel', count: outcome.ended });
  return { status: 200, headers: { ...BASE_HEADERS } };
}

export const logoutBackChannelFunction = httpFunction(ROUTES.logoutBackChannel, logoutBackChannel);
