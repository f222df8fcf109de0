/**
 * What a process keeps to skip repeated work on the hot path must never change an answer: each
 * memo is checked against the time, the purpose, the version of the row and its bound.
 */
import { randomBytes } from 'node:crypto';
import { RecentMap, remembered } from '../../shared/recentMap';
import { createCookieSealer } from '../../shared/session/sealing';
import { loginUrlFor } from '../../shared/auth/loginUrl';
import { cachedAccessToken, forgetTokenLocations, learnTokenLocation } from '../../shared/tokenCache/cachedAccessToken';
import type { AppConfig } from '../../shared/config';
import type { CacheRow } from '../../shared/tokenCache/tableStore';

describe('RecentMap', () => {
  test('keeps at most its limit, dropping the entry stored or refreshed longest ago', () => {
    const map = new RecentMap<string, number>(2);
    map.set('a', 1);
    map.set('b', 2);
    map.set('a', 10); // refreshed: now b is the oldest
    map.set('c', 3);
    expect([map.get('a'), map.get('b'), map.get('c'), map.size]).toEqual([10, undefined, 3, 2]);
    expect(map.has('b')).toBe(false);
    map.delete('a');
    expect(map.has('a')).toBe(false);
    map.clear();
    expect(map.size).toBe(0);
  });

  test('storing a key again moves it to the back: the next one past the limit drops another', () => {
    const map = new RecentMap<string, number>(3);
    map.set('a', 1);
    map.set('b', 2);
    map.set('a', 10);
    map.set('c', 3);
    map.set('d', 4);
    expect([map.get('a'), map.get('b'), map.get('c'), map.get('d')]).toEqual([10, undefined, 3, 4]);
  });

  test('remembered derives once per recent input and again once the input was dropped', () => {
    const seen: string[] = [];
    const derive = remembered((input) => {
      seen.push(input);
      return input.toUpperCase();
    }, 2);
    expect([derive('a'), derive('a'), derive('b'), derive('c'), derive('a')]).toEqual(['A', 'A', 'B', 'C', 'A']);
    expect(seen).toEqual(['a', 'b', 'c', 'a']);
  });
});

describe('an opened cookie kept by its value', () => {
  afterEach(() => jest.useRealTimers());

  test('still refuses another purpose and an expired value at every use', async () => {
    jest.useFakeTimers({ now: 1_800_000_000_000, doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
    const sealer = createCookieSealer([new Uint8Array(randomBytes(32))]);
    const value = await sealer.seal({ sid: 's', exp: 1_800_000_060 }, 'session');
    const first = await sealer.unseal<{ sid: string }>(value, 'session');
    expect(first).toMatchObject({ sid: 's' });
    expect(await sealer.unseal(value, 'session')).toBe(first);
    expect(Object.isFrozen(first)).toBe(true);
    expect(await sealer.unseal(value, 'authreq')).toBeUndefined();
    jest.setSystemTime(1_800_000_060_000);
    expect(await sealer.unseal(value, 'session')).toBeUndefined();
  });

  test('a sealer does not answer from another sealer\'s memory', async () => {
    const a = createCookieSealer([new Uint8Array(randomBytes(32))]);
    const b = createCookieSealer([new Uint8Array(randomBytes(32))]);
    const value = await a.seal({ sid: 's' }, 'session');
    expect(await a.unseal(value, 'session')).toBeDefined();
    expect(await b.unseal(value, 'session')).toBeUndefined();
  });
});

describe('login URLs kept per configuration, scopes and Referer', () => {
  const config = (origin: string) => ({ redirectUri: `${origin}/api/redirect` }) as AppConfig;

  test('the same Referer under two configurations or two scope lists gets its own URL', () => {
    const a = config('https://app.example');
    const b = config('https://other.example');
    const referer = 'https://app.example/orders?id=7';
    expect(loginUrlFor(a, referer, [])).toBe('/api/login?returnUrl=%2Forders%3Fid%3D7');
    expect(loginUrlFor(a, referer, [])).toBe('/api/login?returnUrl=%2Forders%3Fid%3D7');
    expect(loginUrlFor(b, referer, [])).toBe('/api/login?returnUrl=%2F');
    expect(loginUrlFor(a, referer, ['api://x/y'])).toBe('/api/login?returnUrl=%2Forders%3Fid%3D7&scopes=api%3A%2F%2Fx%2Fy');
    expect(loginUrlFor(a, null, [])).toBe('/api/login?returnUrl=%2F');
  });

  test('a Referer too long to keep still gets its URL', () => {
    const a = config('https://app.example');
    const long = `https://app.example/${'p'.repeat(1500)}`;
    expect(loginUrlFor(a, long, [])).toBe(`/api/login?returnUrl=%2F${'p'.repeat(1500)}`);
  });
});

describe('the token picked from a version of a row', () => {
  const HOME = 'uid.utid';
  const NOW = 1_900_000_000;
  const query = { partitionKey: 'pk', homeAccountId: HOME, clientId: 'client', authorityUrl: 'https://idp.example/tenant', scopes: ['api://demo/Data.Read'] };
  const cache = JSON.stringify({
    Account: { a: { home_account_id: HOME, environment: 'idp.example', realm: 'tenant' } },
    AccessToken: {
      t: { home_account_id: HOME, environment: 'idp.example', credential_type: 'AccessToken', client_id: 'client', secret: 'AT1', realm: 'tenant', target: 'api://demo/Data.Read', cached_at: String(NOW - 60), expires_on: String(NOW + 3600), token_type: 'Bearer' },
    },
  });
  beforeEach(() => forgetTokenLocations());

  test('is kept per query, and the clock is asked at every call', () => {
    learnTokenLocation(cache, 'AT1', query);
    const row: CacheRow = { cache, etag: 'W/"1"', sessions: {}, memo: {} };
    expect(cachedAccessToken(row, { ...query, now: NOW })).toBe('AT1');
    expect(row.memo?.picks?.size).toBe(1);
    // Past the refresh margin: the same version of the row, the same pick, another answer.
    expect(cachedAccessToken(row, { ...query, now: NOW + 3600 })).toBeUndefined();
    expect(cachedAccessToken(row, { ...query, scopes: ['api://other/x'], now: NOW })).toBeUndefined();
    expect(cachedAccessToken(row, { ...query, clientId: 'another', now: NOW })).toBeUndefined();
    expect(cachedAccessToken(row, { ...query, homeAccountId: 'other.home', now: NOW })).toBeUndefined();
    expect(cachedAccessToken(row, { ...query, now: NOW })).toBe('AT1');
  });

  test('a location MSAL teaches later is a query of its own', () => {
    const row: CacheRow = { cache, etag: 'W/"1"', sessions: {}, memo: {} };
    // Not learnt, and the row has no ID token: the first-call shortcut refuses, and that refusal is kept for this location only.
    expect(cachedAccessToken(row, { ...query, now: NOW })).toBeUndefined();
    learnTokenLocation(cache, 'AT1', query);
    expect(cachedAccessToken(row, { ...query, now: NOW })).toBe('AT1');
  });
});
