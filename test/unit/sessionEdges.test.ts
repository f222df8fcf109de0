import { randomBytes, createHash } from 'node:crypto';
import { CompactEncrypt, base64url } from 'jose';
import { needsSlide, parseDuration, parseSessions } from '../../shared/session/lifetimes';
import { createCookieSealer } from '../../shared/session/sealing';

/** Edges of the session lifetimes and cookie sealing: where each limit sits, and inputs of the wrong kind. */
describe('parseDuration limits', () => {
  test.each([
    [' PT30M ', 1800],
    ['23:00', 82800],
    ['00:59', 3540],
    ['00:00:59', 59],
    ['23:59:59', 86399],
  ])('%j is %i seconds', (text, seconds) => expect(parseDuration(text)).toBe(seconds));

  test.each(['24:00', '00:60', '00:00:60'])('%j is refused', (text) => expect(parseDuration(text)).toBeUndefined());
});

test('no slide while the idle window would end after the absolute expiry anyway', () => {
  const lifetimes = { idleTimeoutSeconds: 1000, absoluteLifetimeSeconds: 2000 };
  // Idle expiry 1000 + 1000 = 2000 = the absolute expiry: sliding would gain nothing.
  expect(needsSlide({ started: 0, lastSeen: 1000 }, lifetimes, 1600)).toBe(false);
  expect(needsSlide({ started: 0, lastSeen: 999 }, lifetimes, 1600)).toBe(true);
  // Just written: nothing to slide, whatever the clock's absolute value.
  expect(needsSlide({ started: 1_800_000_000, lastSeen: 1_800_000_000 }, lifetimes, 1_800_000_000)).toBe(false);
});

describe('parseSessions of odd rows', () => {
  test.each([
    ['a number', 5],
    ['JSON null', 'null'],
    ['a JSON list', '[["",1,2]]'],
    ['a JSON number', '7'],
    ['truncated JSON', '{"a":["",1,'],
  ])('%s reads as no sessions', (_name, value) => expect(parseSessions(value)).toEqual({}));

  test('entries of the wrong shape are skipped, the others kept', () => {
    const parsed = parseSessions(JSON.stringify({ ok: ['p', 1, 2], short: ['p', 1], long: ['p', 1, 2, 3], obj: { 0: 'p', 1: 1, 2: 2, length: 3 }, sid: [5, 1, 2], started: ['p', '1', 2], seen: ['p', 1, null] }));
    expect(parsed).toEqual({ ok: { providerSid: 'p', started: 1, lastSeen: 2 } });
  });
});

describe('cookie sealing limits', () => {
  const key = new Uint8Array(randomBytes(32));
  const kid = base64url.encode(createHash('sha256').update(key).digest().subarray(0, 8));
  const sealer = createCookieSealer([key]);
  const jwe = (payload: object, header: Record<string, string> = { alg: 'dir', enc: 'A256GCM', kid }) =>
    new CompactEncrypt(new TextEncoder().encode(JSON.stringify(payload))).setProtectedHeader(header as never).encrypt(key);

  test('no key: refused at start-up', () => {
    expect(() => createCookieSealer([])).toThrow(/at least one sealing key/);
  });

  test('more state than a browser cookie holds: 400 cookie_too_large, saying what to do', async () => {
    const failure = await sealer.seal({ scopes: randomBytes(3000).toString('base64') }, 'authreq').catch((e: unknown) => e);
    expect(failure).toMatchObject({ status: 400, code: 'cookie_too_large' });
    expect((failure as Error).message).toMatch(/fewer or shorter scopes/);
  });

  test('a value of up to twice the cookie limit is opened; a longer one is not even tried', async () => {
    const mid = await jwe({ pur: 'session', pad: 'x'.repeat(3000) });
    expect(mid.length).toBeGreaterThan(3800);
    expect(mid.length).toBeLessThan(7600);
    expect(await sealer.unseal(mid, 'session')).toMatchObject({ pur: 'session' });
    const long = await jwe({ pur: 'session', pad: 'x'.repeat(6000) });
    expect(long.length).toBeGreaterThan(7600);
    expect(await sealer.unseal(long, 'session')).toBeUndefined();
  });

  test('only dir with A256GCM: the same key under another algorithm opens nothing', async () => {
    const wrapped = await jwe({ pur: 'session' }, { alg: 'A256GCMKW', enc: 'A256GCM', kid });
    expect(await sealer.unseal(wrapped, 'session')).toBeUndefined();
    expect(await sealer.unseal(await jwe({ pur: 'session' }), 'session')).toMatchObject({ pur: 'session' });
  });

  test('a payload whose exp is this very second has expired', async () => {
    jest.useFakeTimers({ now: 1_800_000_000_000, doNotFake: ['nextTick', 'setImmediate', 'setTimeout', 'clearTimeout', 'queueMicrotask'] });
    try {
      expect(await sealer.unseal(await jwe({ pur: 'session', exp: 1_800_000_000 }), 'session')).toBeUndefined();
      expect(await sealer.unseal(await jwe({ pur: 'session', exp: 1_800_000_001 }), 'session')).toMatchObject({ exp: 1_800_000_001 });
    } finally {
      jest.useRealTimers();
    }
  });
});
