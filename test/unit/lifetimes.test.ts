import { loadConfig } from '../../shared/config';
import { ConfigurationError } from '../../shared/errors';
import { isLive, liveSessions, MAX_SESSIONS_PER_ACCOUNT, needsSlide, parseDuration, parseSessions, rowExpiry, serializeSessions, sessionExpiry } from '../../shared/session/lifetimes';
import { MINIMAL_SETTINGS } from '../support/settings';

const base = {
  ...MINIMAL_SETTINGS,
  AzureAd__Authority: 'https://127.0.0.1:8443',
};

function problem(settings: Record<string, string>): { setting: string; message: string } | undefined {
  try {
    loadConfig({ ...base, ...settings });
    return undefined;
  } catch (e) {
    if (!(e instanceof ConfigurationError)) throw e;
    return e.problems[0];
  }
}

describe('parseDuration', () => {
  test.each([
    ['PT30M', 1800],
    ['PT8H', 28800],
    ['P14D', 1209600],
    ['P1W', 604800],
    ['P1DT2H3M4S', 93784],
    ['pt1h', 3600],
    ['00:30:00', 1800],
    ['08:00', 28800],
    ['14.00:00:00', 1209600],
    ['1.02:03:04.5', 93784],
  ])('%s is %d seconds', (text, seconds) => expect(parseDuration(text)).toBe(seconds));

  test.each(['', 'P', 'PT', '30', '30m', 'P1M', 'P1Y', '24:00:00', '00:60:00', 'PT-5M', '1:2:3', 'P1DT'])('%j is refused', (text) => expect(parseDuration(text)).toBeUndefined());
});

describe('session lifetimes settings', () => {
  test('defaults: 14 days sliding (ASP.NET Core cookie authentication), 30 days absolute', () => {
    expect(loadConfig(base).session).toMatchObject({ idleTimeoutSeconds: 14 * 86400, absoluteLifetimeSeconds: 30 * 86400 });
  });

  test('both forms are read', () => {
    expect(loadConfig({ ...base, Session__IdleTimeout: '00:20:00', Session__AbsoluteLifetime: 'PT8H' }).session).toMatchObject({ idleTimeoutSeconds: 1200, absoluteLifetimeSeconds: 28800 });
  });

  test('a malformed or inconsistent lifetime names its setting', () => {
    expect(problem({ Session__IdleTimeout: 'thirty minutes' })).toMatchObject({ setting: 'Session__IdleTimeout', message: expect.stringContaining('ISO 8601') });
    expect(problem({ Session__AbsoluteLifetime: 'PT0S' })).toMatchObject({ setting: 'Session__AbsoluteLifetime' });
    expect(problem({ Session__IdleTimeout: 'PT8H', Session__AbsoluteLifetime: 'PT1H' })).toMatchObject({ setting: 'Session__AbsoluteLifetime', message: expect.stringMatching(/^is shorter than Session__IdleTimeout; set it to at least/) });
  });
});

describe('session records', () => {
  const lifetimes = { idleTimeoutSeconds: 1000, absoluteLifetimeSeconds: 5000 };

  test('a session lives until the earlier of its idle and absolute expiry', () => {
    const entry = { started: 0, lastSeen: 4500 };
    expect(sessionExpiry(entry, lifetimes)).toBe(5000);
    expect(isLive(entry, lifetimes, 4999)).toBe(true);
    expect(isLive(entry, lifetimes, 5000)).toBe(false);
    expect(isLive({ started: 0, lastSeen: 100 }, lifetimes, 1100)).toBe(false);
  });

  test('slides only past half the idle window, and never past the absolute expiry', () => {
    expect(needsSlide({ started: 0, lastSeen: 0 }, lifetimes, 500)).toBe(false);
    expect(needsSlide({ started: 0, lastSeen: 0 }, lifetimes, 501)).toBe(true);
    expect(needsSlide({ started: 0, lastSeen: 4200 }, lifetimes, 4800)).toBe(false);
  });

  test('expired sessions are dropped and the newest are kept', () => {
    const many = Object.fromEntries(Array.from({ length: MAX_SESSIONS_PER_ACCOUNT + 5 }, (_, i) => [`s${i}`, { started: 900, lastSeen: 900 + i }]));
    const live = liveSessions({ ...many, old: { started: 0, lastSeen: 0 } }, lifetimes, 1500);
    expect(Object.keys(live)).toHaveLength(MAX_SESSIONS_PER_ACCOUNT);
    expect(live['old']).toBeUndefined();
    expect(live[`s${MAX_SESSIONS_PER_ACCOUNT + 4}`]).toBeDefined();
    expect(live['s0']).toBeUndefined();
    expect(rowExpiry(live, lifetimes, 1500).getTime()).toBe((900 + MAX_SESSIONS_PER_ACCOUNT + 4 + 1000) * 1000);
  });

  test('the row property round-trips and ignores malformed entries', () => {
    const sessions = { a: { providerSid: 'p1', started: 1, lastSeen: 2 }, b: { started: 3, lastSeen: 4 } };
    expect(parseSessions(serializeSessions(sessions))).toEqual(sessions);
    expect(parseSessions('{"a":[1,2],"b":["",1,2]}')).toEqual({ b: { started: 1, lastSeen: 2 } });
    expect(parseSessions('not json')).toEqual({});
    expect(parseSessions(undefined)).toEqual({});
  });
});
