import type { HttpRequest, HttpResponseInit } from '@azure/functions';
import type { RuntimeSource } from '../shared/runtime';
import { validateBearerToken } from '../shared/obo/bearerToken';
import { acquireTokenOnBehalfOf } from '../shared/obo/onBehalfOf';
import { appScopesFor, findOboApi } from '../shared/obo/oboApis';
import { acquireAppToken } from '../shared/auth/appTokens';
import { METHODS_WITHOUT_BODY, downstreamUrl, validateProxyPath } from '../shared/proxy/proxyRules';
import { MAX_PROXY_BODY_BYTES, readBoundedBody } from '../shared/boundedBody';
import { forwardToApi } from '../shared/proxy/forward';
import { proxiedResponse } from './http/responses';
import { httpFunction } from './registration';
import { ROUTES } from './manifest';

/**
 * A protected web API that calls web APIs: the caller's bearer token is validated, exchanged
 * on-behalf-of the user for the downstream API's scopes, and the call forwarded under the
 * proxy's rules. No cookie and no anti-forgery header: callers are services and SPAs that
 * hold their own token.
 */
export async function obo(request: HttpRequest, source: RuntimeSource): Promise<HttpResponseInit> {
  const runtime = await source.get();
  // Who calls comes first: an unauthenticated caller learns nothing about the configured APIs.
  const caller = await validateBearerToken(runtime.config, await runtime.providers.get(), request.headers.get('authorization'));
  const api = findOboApi(runtime.config, request.params['api']);
  const target = downstreamUrl(api, validateProxyPath(request.params['path']), new URL(request.url).search);
  const body = METHODS_WITHOUT_BODY.has(request.method) ? null : await readBoundedBody(request.body as ReadableStream<Uint8Array> | null, request.headers.get('content-length'), MAX_PROXY_BODY_BYTES);
  const accessToken = caller.delegated ? (await acquireTokenOnBehalfOf(runtime, caller, api.scopes)).accessToken : await acquireAppToken(runtime, appScopesFor(api));

  // The downstream answer goes back as it is, a claims challenge included: the caller holds the user and answers it.
  const answer = await forwardToApi(target, request.method, request.headers as unknown as Headers, body, accessToken, api.timeoutMs);
  return proxiedResponse(answer);
}

export const oboFunction = httpFunction(ROUTES.obo, obo);
