import type { HttpRequest, HttpResponseInit } from '@azure/functions';
import type { RuntimeSource } from '../shared/runtime';
import { signOut } from '../shared/auth/signOut';
import { problems } from '../shared/problems';
import { redirect } from './http/responses';
import { requireAntiForgeryHeader } from './http/antiForgery';
import { readSession } from '../shared/session/session';
import { sameSecretValue } from '../shared/constantTime';
import { httpFunction } from './registration';
import { ROUTES } from './manifest';

/** POST with X-CSRF: 1, or GET with the session's `sid` (the `logoutUrl` of /api/me): a bare link signs nobody out. */
export async function logout(request: HttpRequest, source: RuntimeSource): Promise<HttpResponseInit> {
  const runtime = await source.get();
  const session = await readSession(runtime.sealer, request.headers.get('cookie'));
  if (request.method === 'POST') {
    requireAntiForgeryHeader(request);
  } else if (!session || !sameSecretValue(request.query.get('sid'), session.sid)) {
    throw problems.logout_sid_mismatch('Use the logoutUrl given by /api/me, or POST with X-CSRF: 1.');
  }
  const { location, cookies } = await signOut(runtime, session);
  return redirect(location, cookies);
}

export const logoutFunction = httpFunction(ROUTES.logout, logout);
