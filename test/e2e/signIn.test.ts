import type { Browser, BrowserContext, Page, Request } from 'playwright-core';
import { collectPageErrors, launchChromium, newContext } from './support/browser';
import { callApiFromPage, pageSettled, signInThroughPage, signedInView, signedOutView, TOKEN_PATTERN, userName } from './support/page';
import { Screenshots } from './support/screenshots';
import { startNpmStack, type NpmStartStack } from './support/stack';

/**
 * A newcomer's first minutes, in Debian's Chromium against `npm start`: the page, sign-in at
 * the dev provider, the cookies the browser ends up with, an API call through the proxy,
 * sign-out, and the back button afterwards.
 */
let stack: NpmStartStack;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let pageErrors: string[];
const requests: Request[] = [];
const shots = new Screenshots('sign-in');

beforeAll(async () => {
  [stack, browser] = await Promise.all([startNpmStack(), launchChromium()]);
  context = await newContext(browser);
  page = await context.newPage();
  pageErrors = collectPageErrors(page);
  page.on('request', (request) => requests.push(request));
});
afterAll(async () => {
  await browser?.close();
  await stack?.stop();
});

test('sign in, see my claims, call the API, sign out, and Back shows no signed-in page', async () => {
  // `/` of the local stack leads to the page at /api/, served with strict headers.
  const first = await page.goto(`${stack.appUrl}/`);
  expect(page.url()).toBe(`${stack.appUrl}/api/`);
  const headers = first!.headers();
  expect(headers['content-security-policy']).toContain("script-src 'self'");
  expect(headers['content-security-policy']).not.toContain('unsafe-inline');
  expect(headers['cache-control']).toBe('no-store');
  expect(headers['x-content-type-options']).toBe('nosniff');
  expect(headers['referrer-policy']).toBe('same-origin');
  expect(await pageSettled(page)).toBe('signed-out');
  expect(await page.getByRole('link', { name: 'Sign in' }).getAttribute('href')).toBe('/api/login?returnUrl=%2Fapi%2F');
  const unknown = await page.request.get(`${stack.appUrl}/api/no-such-file.js`);
  expect(unknown.status()).toBe(404);
  expect(unknown.headers()['content-type']).toBe('application/problem+json');
  await shots.take(page, 'signed-out');

  // Sign in at the dev provider's login page; its form_post lands back on the page, signed in.
  const providerOrigin = await signInThroughPage(page, stack.appUrl, 'ada@contoso.dev', shots);
  expect(await userName(page)).toBe('Ada Lovelace');
  await expect(page.locator('#user-login').textContent()).resolves.toBe('ada@contoso.dev');
  await expect(page.locator('#status').textContent()).resolves.toBe('Signed in as Ada Lovelace');
  const expires = await page.locator('#session-expires').getAttribute('datetime');
  expect(Date.parse(expires!)).toBeGreaterThan(Date.now());
  const claims = await page.locator('#claims tr').allTextContents();
  expect(claims).toContain('preferred_usernameada@contoso.dev');
  await shots.take(page, 'signed-in');

  // The browser holds one cookie of the app: the sealed session, out of reach of script. (Cookies
  // ignore ports, so the dev provider's own cookie on http://localhost is listed too.)
  const appCookies = (await context.cookies(stack.appUrl)).filter((c) => c.name !== 'devidp_session');
  expect(appCookies.map((c) => c.name)).toEqual(['__Host-th.session']);
  expect(appCookies[0]).toMatchObject({ domain: 'localhost', path: '/', httpOnly: true, secure: true, sameSite: 'Lax' });
  expect(await page.evaluate('document.cookie')).toBe('');
  // The provider's own cookies are not readable by script either.
  for (const cookie of await context.cookies()) expect(cookie).toMatchObject({ httpOnly: true, secure: true });

  // An API call through the proxy, with the anti-forgery header; the answer is the user's, and no token shows.
  const proxied = page.waitForRequest((r) => r.url().startsWith(`${stack.appUrl}/api/proxy/demo/`));
  const answer = await callApiFromPage(page, 'demo');
  expect((await proxied).headers()['x-csrf']).toBe('1');
  expect(answer.status).toBe(200);
  expect(JSON.parse(answer.body)).toMatchObject({ user: { name: 'Ada Lovelace' } });
  expect(await page.content()).not.toMatch(TOKEN_PATTERN);
  await shots.take(page, 'api-answer');

  // On-behalf-of from the page: the proxy calls the app's own /api/obo/demo/, which exchanges the token for the demo API's.
  const obo = await callApiFromPage(page, 'obo');
  expect(obo.status).toBe(200);
  expect(JSON.parse(obo.body)).toMatchObject({ user: { name: 'Ada Lovelace' }, audience: 'api://demo-api', azp: 'local-dev-client' });
  expect(await page.content()).not.toMatch(TOKEN_PATTERN);

  // A problem from the proxy is shown, not swallowed.
  const missing = await callApiFromPage(page, 'demo', 'no/such/route');
  expect(missing.status).toBe(404);
  await expect(page.locator('#result-request').textContent()).resolves.toBe('GET /api/proxy/demo/no/such/route');

  // Sign out: through the provider's end-session endpoint and back to the page, signed out.
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.waitForURL(`${stack.appUrl}/api/`);
  expect(await pageSettled(page)).toBe('signed-out');
  expect((await context.cookies(stack.appUrl)).filter((c) => c.name !== 'devidp_session')).toEqual([]);
  await shots.take(page, 'signed-out-again');

  // Back goes to the entry that showed Ada signed in: the page is fetched again (no-store) and shows nobody.
  const meAfterBack = page.waitForResponse(`${stack.appUrl}/api/me`);
  await page.goBack();
  expect(page.url()).toBe(`${stack.appUrl}/api/`);
  expect((await meAfterBack).status()).toBe(401);
  expect(await pageSettled(page)).toBe('signed-out');
  expect(await signedInView(page).isVisible()).toBe(false);
  expect(await page.locator('body').innerText()).not.toContain('Ada');
  expect(await signedOutView(page).isVisible()).toBe(true);
  await shots.take(page, 'after-back-button');

  // No certificate to accept anywhere: the provider's pages were http://localhost too, and the browser visited no https origin.
  expect(providerOrigin).toMatch(/^http:\/\/localhost:\d+$/);
  const httpsOrigins = new Set(requests.map((r) => new URL(r.url())).filter((u) => u.protocol === 'https:').map((u) => u.origin));
  expect([...httpsOrigins]).toEqual([]);
  expect(pageErrors).toEqual([]);
});
