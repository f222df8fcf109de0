import { startLocalStack, type LocalStack } from '../../dev/stack';
import { DEV_TENANT_ID } from '../../dev/idp';
import { CookieJar, hiddenField, postBack, proxyCall, send, signIn } from '../support/browserless';
import { cacheTable, readCacheRow } from '../support/cacheRows';

/**
 * Azure AD B2C user flows against the provider's B2C paths (`/{domain}/{policy}/...`): the
 * sign-up/sign-in flow, "forgot password" (AADB2C90118) starting the reset flow, a cancelled
 * flow (AADB2C90091) going home without an error page, other flows by `policy`, sign-out.
 */
let stack: LocalStack;

beforeAll(async () => {
  stack = await startLocalStack({ settings: {}, port: 0, log: () => {}, idp: { authority: 'b2c' } });
  await cacheTable(stack).createTable();
});
afterAll(async () => {
  await stack?.close();
});

/** The name and value a button of the page submits with its form, as a browser sends them when it is pressed; undefined when the page has none. */
function pageButton(html: string, name: string): { name: string; value: string; label: string } | undefined {
  const match = new RegExp(`<button name="${name}" value="([^"]*)"[^>]*>([^<]*)</button>`).exec(html);
  return match ? { name, value: match[1]!, label: match[2]! } : undefined;
}

/** Starts a sign-in and presses a button of the provider's login page (its "Forgot your password?" link, Cancel). */
async function pressAtProvider(jar: CookieJar, query: string, button: 'forgot' | 'cancel'): Promise<Response> {
  const login = await send(`${stack.appUrl}/api/login?${query}`, jar);
  const authorize = new URL(login.headers.get('location')!);
  const providerJar = new CookieJar();
  const page = await (await send(authorize.href, providerJar)).text();
  const transaction = hiddenField(page, 'transaction');
  const pressed = pageButton(page, button);
  if (!pressed) throw new Error(`the login page has no ${button} button`);
  const answer = await send(`${authorize.origin}/authorize/login`, providerJar, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ transaction, [pressed.name]: pressed.value }).toString(),
  });
  const html = await answer.text();
  const fields = Object.fromEntries(['state', 'error', 'error_description'].map((name) => [name, hiddenField(html, name)]));
  return postBack({ action: `${stack.appUrl}/api/redirect`, fields }, jar, 'text/html');
}

test('sign-up/sign-in user flow: its authority path, B2C issuer and policy; the API call works; sign-out removes the account', async () => {
  const jar = new CookieJar();
  const login = await send(`${stack.appUrl}/api/login?returnUrl=%2Fapi%2F`, new CookieJar());
  expect(new URL(login.headers.get('location')!).pathname).toBe('/contoso.onmicrosoft.com/B2C_1_susi/oauth2/v2.0/authorize');

  await signIn(stack.appUrl, jar);
  const me = (await (await send(`${stack.appUrl}/api/me`, jar)).json()) as { claims: Record<string, unknown>; logoutUrl: string };
  expect(me.claims['iss']).toBe(`${stack.idp!.issuer}/${DEV_TENANT_ID}/v2.0/`);
  expect((await proxyCall(stack.appUrl, jar, 'demo/profile')).status).toBe(200);
  expect(await readCacheRow(stack)).toBeDefined();

  const out = await send(`${stack.appUrl}${me.logoutUrl}`, jar);
  expect(out.status).toBe(302);
  expect(new URL(out.headers.get('location')!).pathname).toBe('/contoso.onmicrosoft.com/B2C_1_susi/oauth2/v2.0/logout');
  expect(await readCacheRow(stack)).toBeUndefined();
});

test('the login page of a B2C user flow has a "Forgot your password?" link; the same provider\'s plain OpenID page has none', async () => {
  const login = await send(`${stack.appUrl}/api/login?returnUrl=%2F`, new CookieJar());
  const authorize = new URL(login.headers.get('location')!);
  expect(pageButton(await (await send(authorize.href, new CookieJar())).text(), 'forgot')).toEqual({ name: 'forgot', value: '1', label: 'Forgot your password?' });
  const plain = new URL(authorize.href);
  plain.pathname = '/authorize';
  const plainPage = await send(plain.href, new CookieJar());
  expect(plainPage.status).toBe(200);
  expect(pageButton(await plainPage.text(), 'forgot')).toBeUndefined();
});

test('AADB2C90118 (forgot password) starts the reset-password user flow, keeping the return URL', async () => {
  const jar = new CookieJar();
  const back = await pressAtProvider(jar, 'returnUrl=%2Forders', 'forgot');
  expect(back.status).toBe(302);
  const next = new URL(back.headers.get('location')!, stack.appUrl);
  expect(next.pathname).toBe('/api/login');
  expect(Object.fromEntries(next.searchParams)).toEqual({ policy: 'B2C_1_reset', returnUrl: '/orders' });
  const reset = await send(next.href, jar);
  expect(new URL(reset.headers.get('location')!).pathname).toBe('/contoso.onmicrosoft.com/B2C_1_reset/oauth2/v2.0/authorize');
});

test('AADB2C90091 (cancelled) goes back to the return URL without an error page or a session', async () => {
  const jar = new CookieJar();
  const back = await pressAtProvider(jar, 'returnUrl=%2Fapi%2F', 'cancel');
  expect(back.status).toBe(302);
  expect(new URL(back.headers.get('location')!, stack.appUrl).pathname).toBe('/api/');
  expect(jar.get('__Host-th.session')).toBeUndefined();
});

test('other user flows by policy; an unknown policy is refused', async () => {
  const edit = await send(`${stack.appUrl}/api/login?policy=B2C_1_edit`, new CookieJar());
  expect(new URL(edit.headers.get('location')!).pathname).toBe('/contoso.onmicrosoft.com/B2C_1_edit/oauth2/v2.0/authorize');
  const unknown = await send(`${stack.appUrl}/api/login?policy=B2C_1_other`, new CookieJar());
  expect(unknown.status).toBe(400);
  expect(await unknown.json()).toMatchObject({ code: 'policy_unknown' });
});
