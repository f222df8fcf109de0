import type { HttpRequest, HttpResponseInit } from '@azure/functions';
import type { RuntimeSource } from '../shared/runtime';
import { signInRequired } from '../shared/problems';
import { json } from './http/responses';
import { readSession } from '../shared/session/session';
import { readLiveSession, sessionEndedProblem } from '../shared/session/sessionRecords';
import { httpFunction } from './registration';
import { ROUTES } from './manifest';

const LOGIN_URL = '/api/login?returnUrl=%2Fapi%2F';

export async function me(request: HttpRequest, source: RuntimeSource): Promise<HttpResponseInit> {
  const runtime = await source.get();
  const session = await readSession(runtime.sealer, request.headers.get('cookie'));
  if (!session) throw signInRequired('not_signed_in', LOGIN_URL);
  // A page that polls /api/me asks with slide=false, so polling alone does not keep a session alive.
  const live = await readLiveSession(runtime, session, { slide: request.query.get('slide') !== 'false' });
  if (!live) throw sessionEndedProblem(LOGIN_URL);
  const iso = (seconds: number) => new Date(seconds * 1000).toISOString();
  return json(200, {
    claims: session.claims,
    session: { issuedAt: iso(live.entry.started), expiresAt: iso(live.expiresAt), idleExpiresAt: iso(live.entry.lastSeen + runtime.config.session.idleTimeoutSeconds), absoluteExpiresAt: iso(live.absoluteExpiresAt) },
    logoutUrl: `/api/logout?sid=${encodeURIComponent(session.sid)}`,
    apis: [...runtime.config.downstreamApis.values()].map((api) => ({ name: api.name, proxyUrl: `/api/proxy/${api.name}/` })),
  });
}

export const meFunction = httpFunction(ROUTES.me, me);
