import type { Browser } from 'playwright-core';
import { collectPageErrors, launchChromium, newContext } from './support/browser';
import { callApiFromPage, pageSettled, signInThroughPage } from './support/page';
import { startNpmStack, type NpmStartStack } from './support/stack';

/**
 * Signing out at the provider (as another app of the same provider session would) ends the
 * session here too: the provider's signed-out page frames the app's front-channel logout URI,
 * and the app lets that page's origin frame it.
 */
let stack: NpmStartStack;
let browser: Browser;

beforeAll(async () => {
  [stack, browser] = await Promise.all([startNpmStack(), launchChromium()]);
});
afterAll(async () => {
  await browser?.close();
  await stack?.stop();
});

test('signing out at the provider ends the app session through the front channel, and the browser frames it without a CSP refusal', async () => {
  const context = await newContext(browser);
  const page = await context.newPage();
  const pageErrors = collectPageErrors(page);
  let authorizeUrl: URL | undefined;
  page.on('request', (request) => {
    const url = new URL(request.url());
    if (url.pathname.endsWith('/authorize')) authorizeUrl ??= url;
  });
  await page.goto(`${stack.appUrl}/api/`);
  expect(await pageSettled(page)).toBe('signed-out');
  await signInThroughPage(page, stack.appUrl, 'ada@contoso.dev');
  expect((await callApiFromPage(page, 'demo')).status).toBe(200);

  // The provider's end-session page, opened directly: no app asked for it, so it ends with its own signed-out page.
  const frontChannel = page.waitForResponse((response) => new URL(response.url()).pathname === '/api/logout/frontchannel');
  const logoutUrl = new URL(authorizeUrl!.pathname.replace(/\/authorize$/, '/logout'), authorizeUrl!.origin);
  await page.goto(logoutUrl.href);
  const framed = await frontChannel;
  expect(framed.status()).toBe(200);
  expect(framed.headers()['content-security-policy']).toContain(`frame-ancestors`);
  expect(framed.headers()['content-security-policy']).toContain(logoutUrl.origin);
  await page.getByText('You have signed out').waitFor();
  expect(pageErrors).toEqual([]);

  await page.goto(`${stack.appUrl}/api/`);
  expect(await pageSettled(page)).toBe('signed-out');
  await context.close();
});
