import type { Page } from 'playwright-core';
import type { Screenshots } from './screenshots';

/** What the demo page shows, read the way a user reads it. */
export const DEMO_PASSWORD = 'password';

export function signedInView(page: Page) {
  return page.locator('#signed-in');
}

export function signedOutView(page: Page) {
  return page.locator('#signed-out');
}

export async function userName(page: Page): Promise<string> {
  await signedInView(page).waitFor({ state: 'visible' });
  return (await page.locator('#user-name').textContent()) ?? '';
}

/** The page at /api/ has asked /api/me and shows one of its two views. */
export async function pageSettled(page: Page): Promise<'signed-in' | 'signed-out'> {
  await page.locator('#signed-in:not([hidden]), #signed-out:not([hidden])').first().waitFor({ state: 'visible' });
  return (await signedInView(page).isVisible()) ? 'signed-in' : 'signed-out';
}

/**
 * From the page, signed out: Sign in, the dev provider's login form, its form_post back to
 * /api/redirect, and the page again, signed in. Returns the provider's origin.
 */
export async function signInThroughPage(page: Page, appUrl: string, username: string, shots?: Screenshots): Promise<string> {
  await page.getByRole('link', { name: 'Sign in' }).click();
  await page.waitForURL((url) => url.origin !== new URL(appUrl).origin);
  const providerOrigin = new URL(page.url()).origin;
  await page.locator('input[name=username]').waitFor();
  await page.locator('input[name=username]').fill(username);
  await page.locator('input[name=password]').fill(DEMO_PASSWORD);
  if (shots) await shots.take(page, 'provider-login');
  await page.locator('button[type=submit]').click();
  await page.waitForURL(`${appUrl}/api/`);
  await signedInView(page).waitFor({ state: 'visible' });
  return providerOrigin;
}

/** Calls an API with the page's form and waits for the answer it shows. */
export async function callApiFromPage(page: Page, api: string, path?: string): Promise<{ status: number; body: string }> {
  // Found by their accessible names, as a screen reader user finds them.
  if (path !== undefined) await page.getByRole('textbox', { name: `${api}: path` }).fill(path);
  // The page marks the answer busy while it calls (set in the click's own handler, so before click() returns).
  await page.getByRole('button', { name: `Call ${api}` }).click();
  await page.locator('#result[aria-busy="false"]').waitFor({ state: 'attached' });
  return { status: Number(await page.locator('#result-status').textContent()), body: (await page.locator('#result-body').textContent()) ?? '' };
}

/** Anything shaped like a JWT, or a token field, on the page. */
export const TOKEN_PATTERN = /eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}|refresh_token|access_token|id_token/;
