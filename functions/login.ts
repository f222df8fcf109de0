import type { HttpRequest, HttpResponseInit } from '@azure/functions';
import { getRuntime } from '../shared/runtime';
import { beginSignIn } from '../shared/auth/signIn';
import { handleErrors } from './http/handleErrors';
import { redirect } from './http/responses';
import { registerHttp } from './registration';

export async function login(request: HttpRequest): Promise<HttpResponseInit> {
  const runtime = await getRuntime();
  const q = request.query;
  const { location, cookie } = await beginSignIn(runtime, {
    returnUrl: q.get('returnUrl'),
    prompt: q.get('prompt'),
    loginHint: q.get('loginHint'),
    domainHint: q.get('domainHint'),
    scopes: q.get('scopes'),
    policy: q.get('policy'),
  });
  return redirect(location, [cookie]);
}

export const loginFunction = registerHttp('login', { route: 'login', methods: ['GET'], authLevel: 'anonymous', handler: handleErrors(login) });
