import type { HttpRequest, HttpResponseInit } from '@azure/functions';
import { getRuntime } from '../shared/runtime';
import { ProblemError } from '../shared/errors';
import { handleErrors } from './http/handleErrors';
import { json } from './http/responses';
import { readSession } from '../shared/session/session';
import { registerHttp } from './registration';

export async function me(request: HttpRequest): Promise<HttpResponseInit> {
  const runtime = await getRuntime();
  const session = await readSession(runtime.sealer, request.headers.get('cookie'));
  if (!session) throw new ProblemError(401, 'not_signed_in', 'Not signed in', undefined, { loginUrl: '/api/login?returnUrl=%2Fapi%2F' });
  return json(200, {
    claims: session.claims,
    session: { issuedAt: new Date(session.iat * 1000).toISOString(), expiresAt: new Date(session.exp * 1000).toISOString() },
    logoutUrl: `/api/logout?sid=${encodeURIComponent(session.sid)}`,
    apis: [...runtime.config.downstreamApis.values()].map((api) => ({ name: api.name, proxyUrl: `/api/proxy/${api.name}/` })),
  });
}

export const meFunction = registerHttp('me', { route: 'me', methods: ['GET'], authLevel: 'anonymous', handler: handleErrors(me) });
