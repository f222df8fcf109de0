import type { Browser, BrowserContext, Page } from 'playwright-core';
import { collectPageErrors, launchChromium, newContext } from './support/browser';
import { callApiFromPage, pageSettled, signInThroughPage, userName } from './support/page';
import { Screenshots } from './support/screenshots';
import { startNpmStack, type NpmStartStack } from './support/stack';

/**
 * Incremental consent in the browser: `npm start` with DEV_IDP_CONSENT_REQUIRED, so the dev
 * provider asks on its consent screen for an API's scopes when the user is sent to it for them.
 * Accept: back on the page, the call that needed consent is made again and succeeds. Cancel:
 * back on the page, still signed in, with a calm note and no retry.
 */
let stack: NpmStartStack;
let browser: Browser;
const contexts: BrowserContext[] = [];
const shots = new Screenshots('consent');

beforeAll(async () => {
  [stack, browser] = await Promise.all([startNpmStack({ env: { DEV_IDP_CONSENT_REQUIRED: 'true' } }), launchChromium()]);
});
afterAll(async () => {
  await browser?.close();
  await stack?.stop();
});

async function signedInPage(username: string): Promise<{ page: Page; errors: string[] }> {
  const context = await newContext(browser);
  contexts.push(context);
  const page = await context.newPage();
  const errors = collectPageErrors(page);
  await page.goto(`${stack.appUrl}/api/`);
  expect(await pageSettled(page)).toBe('signed-out');
  await signInThroughPage(page, stack.appUrl, username);
  return { page, errors };
}

/** The call without consent: 401 with a loginUrl asking for the API's scope, and the page's prompt. */
async function refusedForConsent(page: Page): Promise<void> {
  const refused = await callApiFromPage(page, 'demo');
  expect(refused.status).toBe(401);
  const problem = JSON.parse(refused.body) as { loginUrl: string };
  const loginUrl = new URL(problem.loginUrl, stack.appUrl);
  expect(loginUrl.pathname).toBe('/api/login');
  expect(loginUrl.searchParams.get('scopes')).toBe('api://demo-api/Data.Read');
  await page.locator('#consent').waitFor({ state: 'visible' });
  expect(await page.locator('#consent').getByRole('heading').textContent()).toBe('This API needs your consent');
}

/** Give consent: the provider (Ada's session still there, so no password) shows its consent screen. */
async function atConsentScreen(page: Page): Promise<void> {
  await page.locator('#consent').getByRole('button', { name: 'Give consent' }).click();
  await page.getByRole('heading', { name: 'Permissions requested' }).waitFor();
  expect(new URL(page.url()).origin).toMatch(/^http:\/\/localhost:\d+$/);
  const permissions = await page.getByRole('list', { name: 'Permissions' }).innerText();
  expect(permissions).toContain('api://demo-api/Data.Read');
  expect(permissions).toContain('Sign you in');
}

test('Accept: the consent screen lists the scopes; back on the page the call is made again and succeeds', async () => {
  expect(stack.output()).toContain('DEV_IDP_CONSENT_REQUIRED');
  const { page, errors } = await signedInPage('ada@contoso.dev');
  await refusedForConsent(page);
  await shots.take(page, 'consent-prompt');

  await atConsentScreen(page);
  await shots.take(page, 'consent-screen');
  // The retried call's answer, once the page is back: no second click.
  const retried = page.waitForResponse((r) => r.url() === `${stack.appUrl}/api/proxy/demo/profile`);
  await page.getByRole('button', { name: 'Accept' }).click();
  await page.waitForURL(`${stack.appUrl}/api/`);
  expect(await userName(page)).toBe('Ada Lovelace');
  expect((await retried).status()).toBe(200);
  await page.locator('#result-status', { hasText: '200' }).waitFor();
  expect(JSON.parse((await page.locator('#result-body').textContent())!)).toMatchObject({ user: { name: 'Ada Lovelace' }, scopes: ['Data.Read'] });
  expect(await page.locator('#consent').isVisible()).toBe(false);
  await shots.take(page, 'after-consent');
  expect(errors).toEqual([]);
});

test('Cancel: back on the page, still signed in, a calm note, no retry, and the prompt can be used again', async () => {
  const { page, errors } = await signedInPage('grace@contoso.dev');
  await refusedForConsent(page);
  await atConsentScreen(page);
  const proxied: string[] = [];
  page.on('request', (r) => {
    // The demo API only: the page also asks Graph for a profile card on its own.
    if (r.url().startsWith(`${stack.appUrl}/api/proxy/demo/`)) proxied.push(`${r.method()} ${r.url()} from ${r.frame().url()}`);
  });
  await page.getByRole('button', { name: 'Cancel' }).click();
  await page.waitForURL(`${stack.appUrl}/api/`);
  expect(await userName(page)).toBe('Grace Hopper');
  const notice = page.getByRole('status').filter({ hasText: 'You cancelled' });
  await notice.waitFor();
  expect(await notice.textContent()).toBe('You cancelled at the provider, so the app did not get the permission it asked for. Nothing else changed; give consent whenever you like.');
  expect(await page.locator('#error').isVisible()).toBe(false);
  expect(page.url()).toBe(`${stack.appUrl}/api/`);
  expect(proxied).toEqual([]);
  await shots.take(page, 'after-cancel');

  // Still refused, and still offered: nothing was granted.
  await refusedForConsent(page);
  expect(errors).toEqual([]);
});
