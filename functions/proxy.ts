import type { HttpRequest, HttpResponseInit } from '@azure/functions';
import type { RuntimeSource } from '../shared/runtime';
import { acquireAccessTokenForSession } from '../shared/auth/accountTokens';
import { signInRequired } from '../shared/problems';
import { acquireAppToken } from '../shared/auth/appTokens';
import { requireAntiForgeryHeader } from './http/antiForgery';
import { METHODS_WITHOUT_BODY, downstreamUrl, findApi, validateProxyPath } from '../shared/proxy/proxyRules';
import { MAX_PROXY_BODY_BYTES, readBoundedBody } from '../shared/boundedBody';
import { forwardToApi } from '../shared/proxy/forward';
import { answerTokenChallenge } from '../shared/proxy/challengeRetry';
import { readSession } from '../shared/session/session';
import { loginUrlFor } from '../shared/auth/loginUrl';
import { readLiveSession, sessionEndedProblem } from '../shared/session/sessionRecords';
import { proxiedResponse } from './http/responses';
import { httpFunction } from './registration';
import { ROUTES } from './manifest';

export async function proxy(request: HttpRequest, source: RuntimeSource): Promise<HttpResponseInit> {
  requireAntiForgeryHeader(request);
  const runtime = await source.get();
  const api = findApi(runtime.config.downstreamApis, request.params['api']);
  const path = validateProxyPath(request.params['path']);
  const target = downstreamUrl(api, path, new URL(request.url).search);
  const loginUrl = loginUrlFor(runtime.config, request.headers.get('referer'), api.requestAppToken ? [] : api.scopes);

  // Read whole and bounded before anything is sent on: an over-limit body gets 413, never a cut upload.
  const body = METHODS_WITHOUT_BODY.has(request.method) ? null : await readBoundedBody(request.body as ReadableStream<Uint8Array> | null, request.headers.get('content-length'), MAX_PROXY_BODY_BYTES);
  const session = await readSession(runtime.sealer, request.headers.get('cookie'));
  if (!session) throw signInRequired('not_signed_in', loginUrl);
  const live = await readLiveSession(runtime, session, { slide: true });
  if (!live) throw sessionEndedProblem(loginUrl);
  const accessToken = api.requestAppToken
    ? await acquireAppToken(runtime, api.scopes)
    : (await acquireAccessTokenForSession(runtime, session, api.scopes, loginUrl, live.row)).accessToken;

  const headers = request.headers as unknown as Headers;
  let answer = await forwardToApi(target, request.method, headers, body, accessToken, api.timeoutMs);
  if (!api.requestAppToken) {
    answer = await answerTokenChallenge(answer, {
      // The body was read whole (bounded) before the first call: any call can be sent again.
      replayable: true,
      loginUrl,
      accessToken,
      reacquire: async (again) => (await acquireAccessTokenForSession(runtime, session, api.scopes, loginUrl, undefined, again)).accessToken,
      forward: (token) => forwardToApi(target, request.method, headers, body, token, api.timeoutMs),
    });
  }
  return proxiedResponse(answer);
}

export const proxyFunction = httpFunction(ROUTES.proxy, proxy);
