import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchChromium, newContext } from './support/browser';
import { callApiFromPage, pageSettled, signInThroughPage, userName } from './support/page';
import { Screenshots } from './support/screenshots';
import { startNpmStack, type NpmStartStack } from './support/stack';

/** Two people on one app at once (two browser contexts, like two browsers): each sees only their own data. */
let stack: NpmStartStack;
let browser: Browser;
const shots = new Screenshots('two-users');

beforeAll(async () => {
  [stack, browser] = await Promise.all([startNpmStack(), launchChromium()]);
});
afterAll(async () => {
  await browser?.close();
  await stack?.stop();
});

interface Person {
  readonly context: BrowserContext;
  readonly page: Page;
}

async function openPage(): Promise<Person> {
  const context = await newContext(browser);
  const page = await context.newPage();
  await page.goto(`${stack.appUrl}/api/`);
  expect(await pageSettled(page)).toBe('signed-out');
  return { context, page };
}

async function sessionCookie(person: Person): Promise<string> {
  const cookies = await person.context.cookies(stack.appUrl);
  return cookies.find((c) => c.name === '__Host-th.session')!.value;
}

test('Ada and Grace, signed in at the same time, each see their own claims and API answers', async () => {
  const [ada, grace] = await Promise.all([openPage(), openPage()]);
  // Both sign-ins in flight at once: their login states must not cross.
  await Promise.all([signInThroughPage(ada.page, stack.appUrl, 'ada@contoso.dev'), signInThroughPage(grace.page, stack.appUrl, 'grace@contoso.dev')]);
  expect(await userName(ada.page)).toBe('Ada Lovelace');
  expect(await userName(grace.page)).toBe('Grace Hopper');
  expect(await sessionCookie(ada)).not.toBe(await sessionCookie(grace));

  const [adaAnswer, graceAnswer] = await Promise.all([callApiFromPage(ada.page, 'demo'), callApiFromPage(grace.page, 'demo')]);
  expect(adaAnswer.status).toBe(200);
  expect(graceAnswer.status).toBe(200);
  expect(JSON.parse(adaAnswer.body)).toMatchObject({ user: { name: 'Ada Lovelace' } });
  expect(JSON.parse(graceAnswer.body)).toMatchObject({ user: { name: 'Grace Hopper' } });
  expect(await ada.page.locator('body').innerText()).not.toContain('Grace');
  expect(await grace.page.locator('body').innerText()).not.toContain('Ada');
  await shots.take(ada.page, 'ada');
  await shots.take(grace.page, 'grace');

  // Ada signs out; Grace's session and tokens are untouched.
  await ada.page.getByRole('button', { name: 'Sign out' }).click();
  await ada.page.waitForURL(`${stack.appUrl}/api/`);
  expect(await pageSettled(ada.page)).toBe('signed-out');
  await grace.page.reload();
  expect(await userName(grace.page)).toBe('Grace Hopper');
  const again = await callApiFromPage(grace.page, 'demo');
  expect(again.status).toBe(200);
  expect(JSON.parse(again.body)).toMatchObject({ user: { name: 'Grace Hopper' } });
  await shots.take(ada.page, 'ada-signed-out');
  await shots.take(grace.page, 'grace-still-signed-in');
});
