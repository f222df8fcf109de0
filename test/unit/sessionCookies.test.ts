import { randomBytes } from 'node:crypto';
import { createCookieSealer } from '../../shared/session/sealing';
import { AUTH_REQUEST_COOKIE, SESSION_COOKIE, expiredCookie, hostCookie, readCookie } from '../../shared/session/cookies';
import {
  AUTH_REQUEST_LIFETIME_SECONDS,
  authRequestCookie,
  clearedAuthRequestCookie,
  clearedSessionCookie,
  newSessionId,
  pickSessionClaims,
  readAuthRequest,
  readSession,
  sessionCookie,
  type AuthRequest,
  type Session,
} from '../../shared/session/session';

/** The session and auth-request cookies: their attributes, what they carry and what reads as absent. */
const sealer = createCookieSealer([new Uint8Array(randomBytes(32))]);
const now = () => Math.floor(Date.now() / 1000);
const session = (over: Partial<Session> = {}): Session => ({ sid: 's1', homeAccountId: 'uid.utid', claims: { name: 'Ada' }, iat: now(), exp: now() + 3600, ...over });
const authRequest = (over: Partial<AuthRequest> = {}): AuthRequest => ({ state: 'st', nonce: 'n', codeVerifier: 'v', returnUrl: '/x', scopes: ['openid'], exp: now() + 600, ...over });

describe('cookies', () => {
  test('names are __Host- prefixed', () => {
    expect(SESSION_COOKIE).toBe('__Host-th.session');
    expect(AUTH_REQUEST_COOKIE).toBe('__Host-th.authreq');
  });

  test('readCookie finds one cookie of a header and tolerates none or garbage', () => {
    expect(readCookie('a=1; __Host-th.session=xyz; b=2', SESSION_COOKIE)).toBe('xyz');
    expect(readCookie('a=1', SESSION_COOKIE)).toBeUndefined();
    expect(readCookie(null, SESSION_COOKIE)).toBeUndefined();
    expect(readCookie('', SESSION_COOKIE)).toBeUndefined();
    expect(readCookie('x=%E0%A4%A', 'x')).toBe('%E0%A4%A');
  });

  test('a host cookie is Secure, HttpOnly, Path=/ with its lifetime and SameSite', () => {
    expect(hostCookie('n', 'v', 42, 'Strict')).toEqual({ name: 'n', value: 'v', path: '/', secure: true, httpOnly: true, sameSite: 'Strict', maxAge: 42 });
  });

  test('an expired cookie is empty, Max-Age 0 and dated 1970; Lax unless told', () => {
    expect(expiredCookie('n')).toEqual({ name: 'n', value: '', path: '/', secure: true, httpOnly: true, sameSite: 'Lax', maxAge: 0, expires: new Date(0) });
    expect(expiredCookie('n', 'None').sameSite).toBe('None');
  });
});

describe('session cookie', () => {
  test('session ids are random, 24 base64url characters', () => {
    const a = newSessionId();
    expect(a).toMatch(/^[A-Za-z0-9_-]{24}$/);
    expect(newSessionId()).not.toBe(a);
  });

  test('claims: only the identity claims of the list, only scalar values', () => {
    const picked = pickSessionClaims({ sub: 's', oid: 'o', tid: 't', name: 'Ada', preferred_username: 'ada@x', email: 'e', given_name: 'A', family_name: 'L', idp: 'i', iss: 'https://p', nonce: 'n', aud: 'c', roles: ['r'], age: 3, verified: true, obj: { a: 1 } });
    expect(picked).toEqual({ sub: 's', oid: 'o', tid: 't', name: 'Ada', preferred_username: 'ada@x', email: 'e', given_name: 'A', family_name: 'L', idp: 'i', iss: 'https://p' });
    expect(pickSessionClaims({ sub: 7, name: false, email: null, oid: undefined })).toEqual({ sub: 7, name: false });
  });

  test('round-trips: Lax, lifetime up to the expiry', async () => {
    const cookie = await sessionCookie(sealer, session({ exp: now() + 3600 }));
    expect(cookie).toMatchObject({ name: SESSION_COOKIE, path: '/', secure: true, httpOnly: true, sameSite: 'Lax' });
    expect(cookie.maxAge).toBeGreaterThanOrEqual(3598);
    expect(cookie.maxAge).toBeLessThanOrEqual(3600);
    expect(await readSession(sealer, `${SESSION_COOKIE}=${cookie.value}`)).toMatchObject({ sid: 's1', homeAccountId: 'uid.utid', claims: { name: 'Ada' } });
  });

  test('a session already past its expiry gets Max-Age 0, never a negative one', async () => {
    expect((await sessionCookie(sealer, session({ exp: now() - 100 }))).maxAge).toBe(0);
  });

  test('no cookie, another cookie, the auth-request cookie or a record of the wrong shape reads as no session', async () => {
    expect(await readSession(sealer, null)).toBeUndefined();
    const other = await authRequestCookie(sealer, authRequest());
    expect(await readSession(sealer, `${SESSION_COOKIE}=${other.value}`)).toBeUndefined();
    for (const bad of [{ sid: 1 }, { homeAccountId: 2 }, { exp: 'soon' }]) {
      const value = await sealer.seal({ ...session(), ...bad }, 'session');
      expect(await readSession(sealer, `${SESSION_COOKIE}=${value}`)).toBeUndefined();
    }
    const { exp: _dropped, ...noExp } = session();
    expect(await readSession(sealer, `${SESSION_COOKIE}=${await sealer.seal(noExp, 'session')}`)).toBeUndefined();
  });

  test('cleared: empty, expired, Lax', () => {
    expect(clearedSessionCookie()).toMatchObject({ name: SESSION_COOKIE, value: '', maxAge: 0, sameSite: 'Lax' });
  });
});

describe('auth-request cookie', () => {
  test('round-trips: SameSite=None (form_post), ten minutes', async () => {
    const cookie = await authRequestCookie(sealer, authRequest({ claims: '{"a":1}' }));
    expect(AUTH_REQUEST_LIFETIME_SECONDS).toBe(600);
    expect(cookie).toMatchObject({ name: AUTH_REQUEST_COOKIE, sameSite: 'None', maxAge: 600, secure: true, httpOnly: true, path: '/' });
    expect(await readAuthRequest(sealer, `${AUTH_REQUEST_COOKIE}=${cookie.value}`)).toMatchObject({ state: 'st', codeVerifier: 'v', returnUrl: '/x', claims: '{"a":1}' });
  });

  test('the session cookie, no cookie or a record without state or verifier reads as none', async () => {
    expect(await readAuthRequest(sealer, null)).toBeUndefined();
    const other = await sessionCookie(sealer, session());
    expect(await readAuthRequest(sealer, `${AUTH_REQUEST_COOKIE}=${other.value}`)).toBeUndefined();
    for (const bad of [{ state: 5 }, { codeVerifier: null }]) {
      const value = await sealer.seal({ ...authRequest(), ...bad }, 'authreq');
      expect(await readAuthRequest(sealer, `${AUTH_REQUEST_COOKIE}=${value}`)).toBeUndefined();
    }
  });

  test('cleared: empty, expired, SameSite=None like the cookie it replaces', () => {
    expect(clearedAuthRequestCookie()).toMatchObject({ name: AUTH_REQUEST_COOKIE, value: '', maxAge: 0, sameSite: 'None' });
  });
});
