import type { HttpRequest, HttpResponseInit } from '@azure/functions';
import type { RuntimeSource } from '../shared/runtime';
import { frontChannelLogout, logoutFrameAncestors } from '../shared/session/logoutNotifications';
import { BASE_HEADERS } from './http/responses';
import { logEvent } from '../shared/log';
import { httpFunction } from './registration';
import { ROUTES } from './manifest';

/**
 * OpenID Connect Front-Channel Logout: the provider loads this in a hidden iframe. An empty
 * page, never cached, that only the provider's origins may frame (every other route of the app
 * refuses framing).
 */
export async function logoutFrontChannel(request: HttpRequest, source: RuntimeSource): Promise<HttpResponseInit> {
  const runtime = await source.get();
  const outcome = await frontChannelLogout(runtime, { sid: request.query.get('sid'), iss: request.query.get('iss') });
  logEvent('logout_notification', { reason: 'frontchannel', count: outcome.ended });
  const ancestors = await logoutFrameAncestors(runtime);
  return {
    status: 200,
    headers: {
      ...BASE_HEADERS,
      'content-type': 'text/html; charset=utf-8',
      'content-security-policy': `default-src 'none'; frame-ancestors ${ancestors.join(' ')}`,
    },
    body: '',
  };
}

export const logoutFrontChannelFunction = httpFunction(ROUTES.logoutFrontChannel, logoutFrontChannel);
