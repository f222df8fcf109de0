import type { LocalStack } from '../../dev/stack';
import { partitionKeyFor, toEntity } from '../../shared/tokenCache/tableStore';
import { CookieJar, proxyCall, send, signIn } from '../support/browserless';
import { cacheTable, homeAccountIdOf, readCacheRow } from '../support/cacheRows';
import { startTwoInstances, type SecondInstance } from '../support/secondInstance';
import { cachedAccessToken, forgetTokenLocations } from '../../shared/tokenCache/cachedAccessToken';

/**
 * The proxy's shortcuts (a valid token taken from the row without MSAL, the opened row kept by
 * its ETag, the session cookie opened with node:crypto) keep the guarantees of the slow path:
 * one Table read per call, a change made by another instance seen at the next call, no token
 * used within MSAL's refresh margin. Two app instances over one Azurite and provider.
 */
let first: LocalStack;
let second: SecondInstance;
let close: () => Promise<void>;

beforeAll(async () => {
  ({ first, second, close } = await startTwoInstances());
});
afterAll(async () => {
  await close?.();
});

async function counts() {
  const runtime = await first.runtime.get();
  return { reads: runtime.tableCalls.reads, writes: runtime.tableCalls.writes + runtime.tableCalls.deletes, token: first.idp!.stats.requests.token };
}

/** Signed in, with the demo API's token acquired and used once more (the shortcut's first use). */
async function signedInAndWarm(): Promise<CookieJar> {
  const jar = new CookieJar();
  await signIn(first.appUrl, jar);
  for (let i = 0; i < 2; i++) {
    const answer = await proxyCall(first.appUrl, jar, 'demo/profile');
    expect(answer.status).toBe(200);
    await answer.arrayBuffer();
  }
  return jar;
}

/** Rewrites the demo API token's expiry in the row, as time would (a new version, a new ETag). */
async function setDemoTokenExpiry(expiresOn: number): Promise<string> {
  const row = (await readCacheRow(first))!;
  const [, token] = Object.entries(row.cache['AccessToken']!).find(([, t]) => t['target']!.includes('demo-api'))!;
  token['expires_on'] = String(expiresOn);
  const entity = toEntity(partitionKeyFor(homeAccountIdOf()), JSON.stringify(row.cache), new Date(Date.now() + 3600_000), (await first.runtime.get()).tokenCache.cipher);
  delete entity['ExpiresOn'];
  await cacheTable(first).updateEntity(entity, 'Merge', { etag: row.etag });
  return token['secret']!;
}

test('a call with a valid token costs one Table read, no write and no provider call', async () => {
  const jar = await signedInAndWarm();
  const before = await counts();
  for (let i = 0; i < 5; i++) {
    const answer = await proxyCall(first.appUrl, jar, 'demo/profile');
    expect(answer.status).toBe(200);
    await answer.arrayBuffer();
  }
  expect(await counts()).toEqual({ reads: before.reads + 5, writes: before.writes, token: before.token });
});

test('another instance signs the user out: the next call here is 401', async () => {
  const jar = await signedInAndWarm();
  const out = await send(`${second.appUrl}/api/logout`, jar.clone(), { method: 'POST', headers: { 'x-csrf': '1' } });
  expect(out.status).toBe(302);
  const answer = await proxyCall(first.appUrl, jar, 'demo/profile');
  expect(answer.status).toBe(401);
  expect(await answer.json()).toMatchObject({ code: 'session_ended' });
});

test('a token within MSAL\'s 5-minute refresh margin is refreshed, not used; one just outside it is used', async () => {
  const jar = await signedInAndWarm();
  const now = Math.floor(Date.now() / 1000);
  const outside = await setDemoTokenExpiry(now + 300 + 60);
  let before = await counts();
  expect((await proxyCall(first.appUrl, jar, 'demo/profile')).status).toBe(200);
  expect((await counts()).token).toBe(before.token);
  expect(Object.values((await readCacheRow(first))!.cache['AccessToken']!).some((t) => t['secret'] === outside)).toBe(true);

  const inside = await setDemoTokenExpiry(now + 300 - 2);
  before = await counts();
  expect((await proxyCall(first.appUrl, jar, 'demo/profile')).status).toBe(200);
  expect((await counts()).token).toBe(before.token + 1);
  const tokens = Object.values((await readCacheRow(first))!.cache['AccessToken']!);
  expect(tokens.some((t) => t['secret'] === inside)).toBe(false);
  expect(tokens.every((t) => Number(t['expires_on']) > now + 3000)).toBe(true);
});

test('the first call in a fresh process takes the token MSAL wrote to the row, without MSAL', async () => {
  await signedInAndWarm();
  const runtime = await first.runtime.get();
  const stored = (await readCacheRow(first))!;
  const [, demo] = Object.entries(stored.cache['AccessToken']!).find(([, t]) => t['target']!.includes('demo-api'))!;
  const scopes = runtime.config.downstreamApis.get('demo')!.scopes;
  const query = { partitionKey: partitionKeyFor(homeAccountIdOf()), homeAccountId: homeAccountIdOf(), clientId: runtime.config.clientId, authorityUrl: runtime.config.authority.url, scopes };
  // Nothing learnt from MSAL, as in a new process: the row as MSAL wrote it is plain enough.
  forgetTokenLocations();
  const row = { cache: JSON.stringify(stored.cache), etag: stored.etag, sessions: {}, memo: {} };
  expect(cachedAccessToken(row, query)).toBe(demo['secret']);
  // The same row under another authority host is MSAL's to decide.
  expect(cachedAccessToken({ ...row, memo: {} }, { ...query, authorityUrl: 'https://login.example.test/tenant' })).toBeUndefined();
});
