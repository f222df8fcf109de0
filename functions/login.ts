import type { HttpRequest, HttpResponseInit } from '@azure/functions';
import type { RuntimeSource } from '../shared/runtime';
import { beginSignIn } from '../shared/auth/signIn';
import { signInOriginRedirect } from '../shared/auth/signInOrigin';
import { redirect } from './http/responses';
import { httpFunction } from './registration';
import { ROUTES } from './manifest';

export async function login(request: HttpRequest, source: RuntimeSource): Promise<HttpResponseInit> {
  const runtime = await source.get();
  const elsewhere = signInOriginRedirect(request.url, runtime.config.redirectUri);
  if (elsewhere) return redirect(elsewhere);
  const q = request.query;
  const { location, cookie } = await beginSignIn(runtime, {
    returnUrl: q.get('returnUrl'),
    prompt: q.get('prompt'),
    loginHint: q.get('loginHint'),
    domainHint: q.get('domainHint'),
    scopes: q.get('scopes'),
    policy: q.get('policy'),
    claims: q.get('claims'),
  });
  return redirect(location, [cookie]);
}

export const loginFunction = httpFunction(ROUTES.login, login);
