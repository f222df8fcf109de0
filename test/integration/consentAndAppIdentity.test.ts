import { startLocalStack, type LocalStack } from '../../dev/stack';
import { CookieJar, postBack, proxyCall, send, signIn, signInAtProvider } from '../support/browserless';
import { DEFAULT_USERS, DEV_TENANT_ID } from '../../dev/idp';
import { OWN_API_AUDIENCE } from '../../dev/stack';
import { cacheTable } from '../support/cacheRows';

/**
 * Incremental consent and app identity (client credentials) through the real functions, beside
 * a provider that asks for consent per API on its consent screen; the demo API checks the
 * audience and the scope or role it gets. (The same consent in a real browser, with the page's
 * prompt: test/e2e/consent.test.ts.)
 */
let stack: LocalStack;

beforeAll(async () => {
  stack = await startLocalStack({ settings: {}, port: 0, log: () => {}, appIdentityApi: true, obo: true, idp: { consentRequired: true, authority: 'tenant' } });
  await cacheTable(stack).createTable();
});
afterAll(async () => {
  await stack?.close();
});

test('app identity: RequestAppToken calls with a client-credentials token (roles, no user), kept in memory', async () => {
  const jar = new CookieJar();
  await signIn(stack.appUrl, jar, { username: 'grace@contoso.dev' });
  const grants = stack.idp!.stats.grants.client_credentials;
  const first = await proxyCall(stack.appUrl, jar, 'demoapp/profile');
  expect(first.status).toBe(200);
  expect(await first.json()).toMatchObject({ user: { name: 'Local token handler' }, scopes: ['Data.Read'] });
  expect((await proxyCall(stack.appUrl, jar, 'demoapp/profile')).status).toBe(200);
  expect(stack.idp!.stats.grants.client_credentials - grants).toBe(1);
});

/** The proxy's 401 for an API the user has not consented to: its loginUrl asks for the API's scope. */
async function refusedForConsent(jar: CookieJar): Promise<URL> {
  const refused = await proxyCall(stack.appUrl, jar, 'demo/profile', { headers: { referer: `${stack.appUrl}/api/` } });
  expect(refused.status).toBe(401);
  const problem = (await refused.json()) as { code: string; loginUrl: string };
  expect(problem.code).toBe('interaction_required');
  const loginUrl = new URL(problem.loginUrl, stack.appUrl);
  expect(loginUrl.pathname).toBe('/api/login');
  expect(loginUrl.searchParams.get('scopes')).toBe('api://demo-api/Data.Read');
  return loginUrl;
}

test('incremental consent: the first call needs consent (401 with a loginUrl for the API\'s scope); Accept on the consent screen, and the same call succeeds', async () => {
  const jar = new CookieJar();
  const first = await signInAtProvider(stack.appUrl, jar, { username: 'ada@contoso.dev' });
  // Sign-in asks for no API, so no consent screen yet.
  expect(first.consentScopes).toBeUndefined();
  expect((await postBack(first, jar)).status).toBe(302);
  const loginUrl = await refusedForConsent(jar);

  const consented = await signInAtProvider(stack.appUrl, jar, { loginQuery: loginUrl.search.slice(1), username: 'ada@contoso.dev', consent: 'accept' });
  expect(consented.consentScopes).toEqual(expect.arrayContaining(['api://demo-api/Data.Read', 'openid']));
  const back = await postBack(consented, jar);
  expect(back.status).toBe(302);
  expect(back.headers.get('location')).toBe('/api/');
  const ok = await proxyCall(stack.appUrl, jar, 'demo/profile');
  expect(ok.status).toBe(200);
  expect(await ok.json()).toMatchObject({ user: { name: 'Ada Lovelace' }, scopes: ['Data.Read'], audience: 'api://demo-api' });
});

test('incremental consent, Cancel: back at the return URL with signInError=access_denied, still signed in, and the API still needs consent', async () => {
  const jar = new CookieJar();
  await signIn(stack.appUrl, jar, { username: 'grace@contoso.dev' });
  const loginUrl = await refusedForConsent(jar);
  const cancelled = await signInAtProvider(stack.appUrl, jar, { loginQuery: loginUrl.search.slice(1), username: 'grace@contoso.dev', consent: 'cancel' });
  expect(cancelled.consentScopes).toContain('api://demo-api/Data.Read');
  expect(cancelled.fields['error']).toBe('access_denied');
  const back = await postBack(cancelled, jar);
  expect(back.status).toBe(302);
  const landing = new URL(back.headers.get('location')!, stack.appUrl);
  expect(landing.pathname).toBe('/api/');
  expect(landing.searchParams.get('signInError')).toBe('access_denied');
  expect((await send(`${stack.appUrl}/api/me`, jar)).status).toBe(200);
  await refusedForConsent(jar);
});

test('on-behalf-of needs the user\'s consent to the downstream API: without it 401 interaction_required (consent_required); with it (given above by Ada) the exchange works', async () => {
  const tokenFor = (username: string) => {
    const user = DEFAULT_USERS.find((u) => u.username === username)!;
    const now = Math.floor(Date.now() / 1000);
    const claims = { iss: `${stack.idp!.issuer}/${DEV_TENANT_ID}/v2.0`, aud: OWN_API_AUDIENCE, sub: user.sub, oid: user.oid, tid: user.tid, scp: 'access_as_user', iat: now, nbf: now, exp: now + 600 };
    return stack.idp!.controls.signLogoutToken(claims, { typ: 'JWT' });
  };
  const refused = await fetch(`${stack.appUrl}/api/obo/demo/profile`, { headers: { authorization: `Bearer ${await tokenFor('grace@contoso.dev')}` } });
  expect(refused.status).toBe(401);
  expect(refused.headers.get('www-authenticate')).toBe('Bearer error="interaction_required", error_description="consent_required"');
  expect(await refused.json()).toMatchObject({ code: 'interaction_required' });
  const granted = await fetch(`${stack.appUrl}/api/obo/demo/profile`, { headers: { authorization: `Bearer ${await tokenFor('ada@contoso.dev')}` } });
  expect(granted.status).toBe(200);
  expect(await granted.json()).toMatchObject({ user: { name: 'Ada Lovelace' }, audience: 'api://demo-api' });
});
