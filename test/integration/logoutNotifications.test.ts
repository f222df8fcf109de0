import type { LocalStack } from '../../dev/stack';
import { CookieJar, proxyCall, send, signIn } from '../support/browserless';
import { readCacheRow } from '../support/cacheRows';
import { readSessionRecords } from '../support/sessionRows';
import { startTwoInstances, type SecondInstance } from '../support/secondInstance';

/**
 * Front- and back-channel logout across two app instances (two runtimes and hosts over one
 * Azurite and one provider): a session ended through one instance is ended on the other at its
 * next request. The provider's notifications are real HTTP from the dev provider.
 */
let a: LocalStack;
let b: SecondInstance;
let closeBoth: () => Promise<void>;

beforeAll(async () => {
  ({ first: a, second: b, close: closeBoth } = await startTwoInstances());
});
afterAll(() => closeBoth?.());

/** Signs in at instance A in a fresh browser (a new provider session); returns the jar and that session's provider sid. */
async function browserSignedIn(username = 'ada@contoso.dev'): Promise<{ jar: CookieJar; providerSid: string }> {
  const before = new Set(Object.values((await readSessionRecords(a, username))?.sessions ?? {}).map((s) => s.providerSid));
  const jar = new CookieJar();
  await signIn(a.appUrl, jar, { username });
  const after = Object.values((await readSessionRecords(a, username))!.sessions).map((s) => s.providerSid!);
  const providerSid = after.find((sid) => !before.has(sid));
  if (!providerSid) throw new Error('no new provider sid in the row');
  return { jar, providerSid };
}

async function statusAt(appUrl: string, jar: CookieJar): Promise<{ me: number; proxy: number }> {
  return { me: (await send(`${appUrl}/api/me`, jar)).status, proxy: (await proxyCall(appUrl, jar, 'demo/profile')).status };
}

test('back-channel logout by sid, sent by the provider, ends that session on both instances; the others and the tokens stay', async () => {
  const laptop = await browserSignedIn();
  const phone = await browserSignedIn();
  expect(await statusAt(b.appUrl, laptop.jar)).toEqual({ me: 200, proxy: 200 });

  const delivered = await a.idp!.controls.sendBackchannelLogout({ sid: laptop.providerSid });
  expect(delivered).toEqual([{ clientId: a.devClient!.clientId, status: 200 }]);

  expect(await statusAt(b.appUrl, laptop.jar)).toEqual({ me: 401, proxy: 401 });
  expect(await statusAt(a.appUrl, laptop.jar)).toEqual({ me: 401, proxy: 401 });
  expect(await statusAt(b.appUrl, phone.jar)).toEqual({ me: 200, proxy: 200 });
  expect(await readCacheRow(a)).toBeDefined();
});

test('"sign out everywhere" at the provider (back-channel, sub only) ends every session of the user on both instances and deletes the tokens', async () => {
  const one = await browserSignedIn();
  const two = await browserSignedIn();
  const grace = await browserSignedIn('grace@contoso.dev');
  // What the provider's page /logout/everywhere does for the signed-in user.
  const { DEFAULT_USERS } = await import('../../dev/idp');
  const ada = DEFAULT_USERS.find((u) => u.username === 'ada@contoso.dev')!;
  const delivered = await a.idp!.controls.signOutEverywhere(ada.sub);
  expect(delivered.map((d) => d.status)).toEqual([200]);

  for (const jar of [one.jar, two.jar]) {
    expect(await statusAt(b.appUrl, jar)).toEqual({ me: 401, proxy: 401 });
    expect(await statusAt(a.appUrl, jar)).toEqual({ me: 401, proxy: 401 });
  }
  expect(await readCacheRow(a)).toBeUndefined();
  expect(await statusAt(b.appUrl, grace.jar)).toEqual({ me: 200, proxy: 200 });
});

test('front-channel logout: sid without iss (as Entra sends it) ends the session everywhere; an empty page only the provider may frame', async () => {
  const target = await browserSignedIn();
  const other = await browserSignedIn();
  const answer = await fetch(`${b.appUrl}/api/logout/frontchannel?sid=${encodeURIComponent(target.providerSid)}`);
  expect(answer.status).toBe(200);
  expect(await answer.text()).toBe('');
  expect(answer.headers.get('content-type')).toMatch(/^text\/html/);
  expect(answer.headers.get('cache-control')).toBe('no-store');
  expect(answer.headers.get('x-frame-options')).toBeNull();
  // The provider's origin and that of its end-session page (the dev provider serves its pages on http://localhost).
  expect(answer.headers.get('content-security-policy')).toBe(`default-src 'none'; frame-ancestors ${a.idp!.issuer} ${a.idp!.browserOrigin}`);
  expect(answer.headers.getSetCookie()).toEqual([]);

  expect(await statusAt(a.appUrl, target.jar)).toEqual({ me: 401, proxy: 401 });
  expect(await statusAt(a.appUrl, other.jar)).toEqual({ me: 200, proxy: 200 });
  // The app's other pages cannot be framed at all.
  expect((await fetch(`${a.appUrl}/api/`)).headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
});

test('front-channel logout checks iss when present: the provider\'s ends the session, another ends nothing (400)', async () => {
  const target = await browserSignedIn();
  const wrong = await fetch(`${a.appUrl}/api/logout/frontchannel?sid=${encodeURIComponent(target.providerSid)}&iss=${encodeURIComponent('https://evil.example')}`);
  expect(wrong.status).toBe(400);
  expect(await wrong.json()).toMatchObject({ code: 'frontchannel_logout_invalid' });
  expect((await send(`${a.appUrl}/api/me`, target.jar)).status).toBe(200);

  const missing = await fetch(`${a.appUrl}/api/logout/frontchannel`);
  expect(missing.status).toBe(400);

  const right = await fetch(`${b.appUrl}/api/logout/frontchannel?sid=${encodeURIComponent(target.providerSid)}&iss=${encodeURIComponent(a.idp!.issuer)}`);
  expect(right.status).toBe(200);
  expect((await send(`${a.appUrl}/api/me`, target.jar)).status).toBe(401);
  // An unknown sid is a success that ends nothing.
  expect((await fetch(`${a.appUrl}/api/logout/frontchannel?sid=unknown`)).status).toBe(200);
});

test('the instances really are two: separate runtimes over one table', async () => {
  expect(await b.getRuntime()).not.toBe(await a.runtime.get());
});
