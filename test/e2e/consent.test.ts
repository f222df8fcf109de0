import type { Browser, BrowserContext, Page } from 'playwright-core';
import { collectPageErrors, launchChromium, newContext } from './support/browser';
import { callApiFromPage, pageSettled, signInThroughPage, userName } from './support/page';
import { Screenshots } from './support/screenshots';
import { startNpmStack, type NpmStartStack } from './support/stack';

/**
 * Incremental consent in the browser: `npm start` with DEV_IDP_CONSENT_REQUIRED, so the dev
 * provider grants an API's scopes only when the user is sent to it for them.
 */
let stack: NpmStartStack;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let pageErrors: string[];
const shots = new Screenshots('consent');

beforeAll(async () => {
  [stack, browser] = await Promise.all([startNpmStack({ env: { DEV_IDP_CONSENT_REQUIRED: 'true' } }), launchChromium()]);
  context = await newContext(browser);
  page = await context.newPage();
  pageErrors = collectPageErrors(page);
});
afterAll(async () => {
  await browser?.close();
  await stack?.stop();
});

test('a 401 with loginUrl shows the consent prompt; consenting brings the user back and the call succeeds', async () => {
  expect(stack.output()).toContain('DEV_IDP_CONSENT_REQUIRED');
  await page.goto(`${stack.appUrl}/api/`);
  expect(await pageSettled(page)).toBe('signed-out');
  await signInThroughPage(page, stack.appUrl, 'ada@contoso.dev');

  // Signed in without the API's scope: the proxy answers 401 with a loginUrl asking for it.
  const refused = await callApiFromPage(page, 'demo');
  expect(refused.status).toBe(401);
  const problem = JSON.parse(refused.body) as { code: string; loginUrl: string };
  const loginUrl = new URL(problem.loginUrl, stack.appUrl);
  expect(loginUrl.pathname).toBe('/api/login');
  expect(loginUrl.searchParams.get('scopes')).toBe('api://demo-api/Data.Read');
  expect(loginUrl.searchParams.get('returnUrl')).toBe('/api/');
  const prompt = page.locator('#consent');
  await prompt.waitFor({ state: 'visible' });
  expect(await prompt.getByRole('heading').textContent()).toBe('This API needs your consent');
  await shots.take(page, 'consent-prompt');

  // The button follows exactly that loginUrl; the provider still has Ada's session, so no form, and she lands back on the page.
  const login = page.waitForRequest((r) => r.url().startsWith(`${stack.appUrl}/api/login`));
  await prompt.getByRole('button', { name: 'Give consent' }).click();
  expect(new URL((await login).url()).search).toBe(loginUrl.search);
  await page.waitForURL(`${stack.appUrl}/api/`);
  expect(await userName(page)).toBe('Ada Lovelace');
  expect(await prompt.isVisible()).toBe(false);

  const granted = await callApiFromPage(page, 'demo');
  expect(granted.status).toBe(200);
  expect(JSON.parse(granted.body)).toMatchObject({ user: { name: 'Ada Lovelace' }, scopes: ['Data.Read'] });
  await shots.take(page, 'after-consent');
  expect(pageErrors).toEqual([]);
});
