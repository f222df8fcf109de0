import type { HttpRequest, HttpResponseInit } from '@azure/functions';
import { getRuntime } from '../shared/runtime';
import type { AppConfig } from '../shared/config';
import { acquireAccessTokenForSession, signInRequired } from '../shared/auth/accountTokens';
import { acquireAppToken } from '../shared/auth/appTokens';
import { handleErrors, requireAntiForgeryHeader } from '../shared/http/responses';
import { downstreamUrl, findApi, validateProxyPath } from '../shared/proxy/proxyRules';
import { forwardToApi } from '../shared/proxy/forward';
import { readSession } from '../shared/session/session';
import { safeReturnUrl } from '../shared/returnUrl';
import { registerHttp } from './registration';

/** Where the browser should go to sign in or consent, coming back to the page it was on. */
function loginUrlFor(config: AppConfig, request: HttpRequest, scopes: readonly string[]): string {
  let returnUrl = '/';
  const referer = request.headers.get('referer');
  if (referer && URL.canParse(referer)) {
    const page = new URL(referer);
    if (page.origin === new URL(config.redirectUri).origin) returnUrl = safeReturnUrl(page.pathname + page.search);
  }
  const query = new URLSearchParams({ returnUrl });
  if (scopes.length > 0) query.set('scopes', scopes.join(' '));
  return `/api/login?${query}`;
}

export async function proxy(request: HttpRequest): Promise<HttpResponseInit> {
  requireAntiForgeryHeader(request);
  const runtime = await getRuntime();
  const api = findApi(runtime.config.downstreamApis, request.params['api']);
  const path = validateProxyPath(request.params['path']);
  const target = downstreamUrl(api, path, new URL(request.url).search);
  const loginUrl = loginUrlFor(runtime.config, request, api.requestAppToken ? [] : api.scopes);

  const session = await readSession(runtime.sealer, request.headers.get('cookie'));
  if (!session) throw signInRequired('not_signed_in', 'Not signed in', loginUrl);
  const accessToken = api.requestAppToken
    ? await acquireAppToken(runtime, api.scopes)
    : (await acquireAccessTokenForSession(runtime, session, api.scopes, loginUrl)).accessToken;

  const answer = await forwardToApi(target, request.method, request.headers as unknown as Headers, request.body as ReadableStream<Uint8Array> | null, accessToken);
  return { status: answer.status, headers: { ...answer.headers, 'x-content-type-options': 'nosniff', 'cache-control': answer.headers['cache-control'] ?? 'no-store' }, body: answer.body ?? undefined };
}

export const proxyFunction = registerHttp('proxy', { route: 'proxy/{api}/{*path}', methods: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'], authLevel: 'anonymous', handler: handleErrors(proxy) });
