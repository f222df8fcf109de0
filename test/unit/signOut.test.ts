import { createServer, type Server } from 'node:https';
import { listenOnLoopback } from '../../dev/listen';
import { DEFAULT_USERS } from '../../dev/idp';
import { DEV_B2C } from '../../dev/authorityShapes';
import { signOut } from '../../shared/auth/signOut';
import { beginSignIn, completeSignIn } from '../../shared/auth/signIn';
import { SESSION_COOKIE } from '../../shared/session/cookies';
import { readSession, type Session } from '../../shared/session/session';
import { partitionKeyFor } from '../../shared/tokenCache/tableStore';
import { addLogListener } from '../../shared/log';
import { answerAtProvider } from '../support/browserless';
import { UNIT_APP, cookieHeaderOf, startUnitProvider, unitRuntime, type UnitProvider, type UnitRuntime } from '../support/authRuntime';
import { closeServer } from '../support/problems';

/**
 * /api/logout against the dev OpenID provider on loopback HTTPS (real MSAL for the sign-in
 * before it), account rows in memory: what is deleted, what is revoked at the provider, where
 * the browser goes, which cookie is cleared.
 */
let provider: UnitProvider;
let entraLike: UnitProvider;
/** A provider whose discovery document has no end_session_endpoint. */
let bare: Server;
let bareIssuer: string;
/** Members added to the bare provider's document. */
let bareExtra: Record<string, unknown> = {};

beforeAll(async () => {
  provider = await startUnitProvider();
  entraLike = await startUnitProvider({ revocation: false });
  bare = createServer({ cert: provider.tls.certPem, key: provider.tls.keyPem }, (req, res) => {
    const body = JSON.stringify({ issuer: bareIssuer, authorization_endpoint: `${bareIssuer}/authorize`, token_endpoint: `${bareIssuer}/token`, jwks_uri: `${bareIssuer}/jwks`, ...bareExtra });
    res.writeHead(req.url === '/.well-known/openid-configuration' ? 200 : 404, { 'content-type': 'application/json' }).end(body);
  });
  bareIssuer = `https://127.0.0.1:${await listenOnLoopback(bare)}`;
});
afterAll(async () => {
  await closeServer(bare);
  await Promise.all([provider?.close(), entraLike?.close()]);
});

const ada = DEFAULT_USERS[0]!;
let events: { event: string; fields: Record<string, unknown> }[];
let stopListening: () => void;
beforeEach(() => {
  events = [];
  stopListening = addLogListener((entry) => {
    if (entry.kind === 'event') events.push({ event: entry.event, fields: { ...entry.fields } });
  });
});
afterEach(() => stopListening());

/** A whole sign-in: the session and the refresh token the account's row holds. */
async function signedIn(rt: UnitRuntime): Promise<{ session: Session; refreshToken: string }> {
  const begun = await beginSignIn(rt, {});
  const { fields } = await answerAtProvider(begun.location, { username: ada.username });
  const { cookies } = await completeSignIn(rt, { code: fields['code'], state: fields['state'] }, cookieHeaderOf([begun.cookie]));
  const session = (await readSession(rt.sealer, cookieHeaderOf(cookies)))!;
  const row = rt.rows.rows.get(partitionKeyFor(session.homeAccountId))!;
  const refreshToken = Object.values(JSON.parse(row.cache).RefreshToken as Record<string, { secret: string }>)[0]!.secret;
  rt.rows.calls.length = 0;
  return { session, refreshToken };
}

async function refreshWith(p: UnitProvider, refreshToken: string): Promise<{ status: number; error?: string }> {
  const response = await fetch(`${p.idp.issuer}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken, client_id: UNIT_APP.clientId, client_secret: p.clientSecret }).toString(),
  });
  return { status: response.status, error: ((await response.json()) as { error?: string }).error };
}

function expectSessionCookieCleared(cookies: readonly { name: string; value: string; maxAge: number; sameSite: string; secure: boolean; httpOnly: boolean }[]): void {
  expect(cookies).toEqual([expect.objectContaining({ name: SESSION_COOKIE, value: '', maxAge: 0, sameSite: 'Lax', secure: true, httpOnly: true, path: '/' })]);
}

describe('signOut', () => {
  test('a session: its row is deleted, its refresh token revoked at the provider, the browser sent to end-session with the post-logout URI, client id and hint', async () => {
    const rt = unitRuntime(provider);
    const { session, refreshToken } = await signedIn(rt);
    const revokes = provider.idp.stats.requests.revoke;
    const { location, cookies } = await signOut(rt, session);

    expect(rt.rows.calls).toEqual(['read', 'delete']);
    expect(rt.rows.rows.size).toBe(0);
    expect(provider.idp.stats.requests.revoke - revokes).toBe(1);
    expect(await refreshWith(provider, refreshToken)).toEqual({ status: 400, error: 'invalid_grant' });

    const url = new URL(location);
    expect(`${url.origin}${url.pathname}`).toBe(`${provider.idp.browserOrigin}/logout`);
    expect(Object.fromEntries(url.searchParams)).toEqual({ post_logout_redirect_uri: UNIT_APP.postLogoutRedirectUri, client_id: UNIT_APP.clientId, logout_hint: ada.username });
    expectSessionCookieCleared(cookies);
    expect(events).toEqual([
      { event: 'revocation', fields: { outcome: 'success', count: 1 } },
      { event: 'sign_out', fields: { outcome: 'success', reason: 'session' } },
    ]);
  });

  test('no session: nothing read or deleted, the same end-session redirect without a hint', async () => {
    const rt = unitRuntime(provider);
    const { location, cookies } = await signOut(rt, undefined);
    expect(rt.rows.calls).toEqual([]);
    const url = new URL(location);
    expect(`${url.origin}${url.pathname}`).toBe(`${provider.idp.browserOrigin}/logout`);
    expect(Object.fromEntries(url.searchParams)).toEqual({ post_logout_redirect_uri: UNIT_APP.postLogoutRedirectUri, client_id: UNIT_APP.clientId });
    expectSessionCookieCleared(cookies);
    expect(events).toEqual([{ event: 'sign_out', fields: { outcome: 'success', reason: 'no_session' } }]);
  });

  test('logout_hint: the session\'s login_hint claim first, else its preferred_username; none when neither is a string', async () => {
    const rt = unitRuntime(provider);
    const base: Session = { sid: 's', homeAccountId: 'uid.utid', claims: {}, iat: 0, exp: 0 };
    const hintOf = async (claims: Session['claims']) => new URL((await signOut(rt, { ...base, claims })).location).searchParams.get('logout_hint');
    expect(await hintOf({ login_hint: 'O.opaque', preferred_username: 'ada@contoso.dev' })).toBe('O.opaque');
    expect(await hintOf({ preferred_username: 'ada@contoso.dev' })).toBe('ada@contoso.dev');
    expect(await hintOf({ preferred_username: 42 })).toBeNull();
    expect(await hintOf({})).toBeNull();
  });

  test('a provider without a revocation endpoint (as Entra): the row is deleted without being read, nothing revoked', async () => {
    const rt = unitRuntime(entraLike);
    const { session, refreshToken } = await signedIn(rt);
    const { location } = await signOut(rt, session);
    expect(rt.rows.calls).toEqual(['delete']);
    expect(entraLike.idp.stats.requests.revoke).toBe(0);
    expect((await refreshWith(entraLike, refreshToken)).status).toBe(200);
    expect(new URL(location).origin).toBe(entraLike.idp.browserOrigin);
    expect(events.map((e) => e.event)).toEqual(['sign_out']);
  });

  test('a provider that refuses the revocation: signed out all the same, logged as failed', async () => {
    const rt = unitRuntime(provider);
    const { session } = await signedIn(rt);
    const wrong = unitRuntime(provider, { settings: { AzureAd__ClientCredentials__0__ClientSecret: 'not-the-secret' } });
    for (const [pk, row] of rt.rows.rows) wrong.rows.rows.set(pk, row);
    const { location, cookies } = await signOut(wrong, session);
    expect(wrong.rows.rows.size).toBe(0);
    expect(new URL(location).origin).toBe(provider.idp.browserOrigin);
    expectSessionCookieCleared(cookies);
    expect(events[0]).toEqual({ event: 'revocation', fields: { outcome: 'failed', count: 1 } });
  });

  test('a credential that cannot be loaded: signed out all the same, nothing sent to revoke', async () => {
    const rt = unitRuntime(provider);
    const { session } = await signedIn(rt);
    const noCredential = unitRuntime(provider, { loaders: { ClientSecret: async () => Promise.reject(new Error('vault down')) } });
    for (const [pk, row] of rt.rows.rows) noCredential.rows.rows.set(pk, row);
    const revokes = provider.idp.stats.requests.revoke;
    const { location } = await signOut(noCredential, session);
    expect(noCredential.rows.rows.size).toBe(0);
    expect(provider.idp.stats.requests.revoke).toBe(revokes);
    expect(new URL(location).origin).toBe(provider.idp.browserOrigin);
    expect(events[0]).toEqual({ event: 'revocation', fields: { outcome: 'success', count: 0 } });
  });

  test('a provider that cannot be reached: the local sign-out happens, the browser goes to the post-logout URI', async () => {
    const rt = unitRuntime(provider, { settings: { AzureAd__Authority: 'https://127.0.0.1:1' } });
    const session: Session = { sid: 's', homeAccountId: `${ada.oid}.${ada.tid}`, claims: { preferred_username: ada.username }, iat: 0, exp: 0 };
    rt.rows.put(partitionKeyFor(session.homeAccountId), { cache: '{}', sessions: {}, expiresOn: new Date() });
    const { location, cookies } = await signOut(rt, session);
    expect(location).toBe(UNIT_APP.postLogoutRedirectUri);
    expect(rt.rows.calls).toEqual(['delete']);
    expect(rt.rows.rows.size).toBe(0);
    expectSessionCookieCleared(cookies);
  });

  test('a provider without an end-session endpoint: the browser goes to the post-logout URI', async () => {
    const rt = unitRuntime(provider, { settings: { AzureAd__Authority: bareIssuer } });
    const { location, cookies } = await signOut(rt, undefined);
    expect(location).toBe(UNIT_APP.postLogoutRedirectUri);
    expectSessionCookieCleared(cookies);
  });

  test('a provider whose end_session_endpoint is not a URL: the local sign-out happens, the browser goes to the post-logout URI', async () => {
    bareExtra = { end_session_endpoint: 'not a url' };
    try {
      const rt = unitRuntime(provider, { settings: { AzureAd__Authority: bareIssuer } });
      const session: Session = { sid: 's', homeAccountId: `${ada.oid}.${ada.tid}`, claims: { preferred_username: ada.username }, iat: 0, exp: 0 };
      rt.rows.put(partitionKeyFor(session.homeAccountId), { cache: '{}', sessions: {}, expiresOn: new Date() });
      const { location, cookies } = await signOut(rt, session);
      expect(location).toBe(UNIT_APP.postLogoutRedirectUri);
      expect(rt.rows.rows.size).toBe(0);
      expectSessionCookieCleared(cookies);
    } finally {
      bareExtra = {};
    }
  });

  test('an error that is not the provider\'s (a bug) is not swallowed', async () => {
    const rt = unitRuntime(provider);
    const bug = new TypeError('x is undefined');
    const broken = { ...rt, providers: { get: () => Promise.reject(bug) } } as unknown as UnitRuntime;
    await expect(signOut(broken, undefined)).rejects.toBe(bug);
  });

  test('B2C: the session\'s user flow\'s end-session endpoint', async () => {
    const rt = unitRuntime(provider, { shape: 'b2c' });
    const session: Session = { sid: 's', homeAccountId: 'uid.utid', claims: {}, policy: DEV_B2C.editProfile, iat: 0, exp: 0 };
    const url = new URL((await signOut(rt, session)).location);
    expect(url.pathname.toLowerCase()).toContain(`/${DEV_B2C.editProfile.toLowerCase()}/`);
    const byDefault = new URL((await signOut(rt, undefined)).location);
    expect(byDefault.pathname.toLowerCase()).toContain(`/${DEV_B2C.signUpSignIn.toLowerCase()}/`);
  });
});
