import { timingSafeEqual } from 'node:crypto';
import type { HttpRequest, HttpResponseInit } from '@azure/functions';
import { getRuntime } from '../shared/runtime';
import { signOut } from '../shared/auth/signOut';
import { ProblemError } from '../shared/errors';
import { handleErrors, redirect, requireAntiForgeryHeader } from '../shared/http/responses';
import { readSession } from '../shared/session/session';
import { registerHttp } from './registration';

function sameSid(given: string | null, expected: string): boolean {
  if (!given) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** POST with X-CSRF: 1, or GET with the session's `sid` (the `logoutUrl` of /api/me): a bare link signs nobody out. */
export async function logout(request: HttpRequest): Promise<HttpResponseInit> {
  const runtime = await getRuntime();
  const session = await readSession(runtime.sealer, request.headers.get('cookie'));
  if (request.method === 'POST') {
    requireAntiForgeryHeader(request);
  } else if (!session || !sameSid(request.query.get('sid'), session.sid)) {
    throw new ProblemError(400, 'logout_sid_mismatch', 'Sign-out needs the session\'s logout link', 'Use the logoutUrl given by /api/me, or POST with X-CSRF: 1.');
  }
  const { location, cookies } = await signOut(runtime, session);
  return redirect(location, cookies);
}

export const logoutFunction = registerHttp('logout', { route: 'logout', methods: ['GET', 'POST'], authLevel: 'anonymous', handler: handleErrors(logout) });
