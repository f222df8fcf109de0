import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:https';
import { listenOnLoopback } from '../../dev/listen';
import { beginSignIn, completeSignIn, type SignInOptions } from '../../shared/auth/signIn';
import { AUTH_REQUEST_COOKIE, SESSION_COOKIE, type ResponseCookie } from '../../shared/session/cookies';
import { AUTH_REQUEST_LIFETIME_SECONDS, readAuthRequest, readSession } from '../../shared/session/session';
import { sessionKey } from '../../shared/session/lifetimes';
import { partitionKeyFor } from '../../shared/tokenCache/tableStore';
import { problems } from '../../shared/problems';
import { answerAtProvider } from '../support/browserless';
import { UNIT_APP, cookieHeaderOf, startUnitProvider, unitRuntime, withTokenEndpointAt, type UnitProvider, type UnitRuntime } from '../support/authRuntime';
import { DEV_B2C } from '../../dev/authorityShapes';
import { DEFAULT_USERS, DEV_TENANT_ID } from '../../dev/idp';
import { problemOf, closeServer } from '../support/problems';

/**
 * /api/login and /api/redirect against the dev OpenID provider on loopback HTTPS, with real MSAL
 * and the account rows in memory: what goes to the provider, what the browser gets back, and
 * what is (or is not) written.
 */
let provider: UnitProvider;
let runtime: UnitRuntime;
/** A gateway in front of the token endpoint: it answers with an HTML error page, or records the request and forwards it. */
let gateway: Server;
let gatewayUrl: string;
let gatewayMode: 'html' | 'forward' = 'html';
const tokenRequests: URLSearchParams[] = [];
beforeAll(async () => {
  provider = await startUnitProvider();
  gateway = createServer({ cert: provider.tls.certPem, key: provider.tls.keyPem }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (gatewayMode === 'html') {
        res.writeHead(502, { 'content-type': 'text/html' }).end('<html><body>Bad gateway</body></html>');
        return;
      }
      const body = Buffer.concat(chunks).toString('utf8');
      tokenRequests.push(new URLSearchParams(body));
      void fetch(`${provider.idp.issuer}${req.url}`, { method: 'POST', headers: { 'content-type': req.headers['content-type'] ?? '' }, body }).then(async (answer) => {
        res.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'application/json' }).end(await answer.text());
      });
    });
  });
  gatewayUrl = `https://127.0.0.1:${await listenOnLoopback(gateway)}`;
});
afterAll(async () => {
  await closeServer(gateway);
  await provider?.close();
});
beforeEach(() => {
  runtime = unitRuntime(provider);
});


const ada = DEFAULT_USERS[0]!;
const nowSeconds = () => Math.floor(Date.now() / 1000);

/** /api/login, then the provider's login page and form: the fields it posts back and the browser's auth-request cookie. */
async function signInAtProvider(rt: UnitRuntime, options: SignInOptions = {}, username = ada.username) {
  const begun = await beginSignIn(rt, options);
  const answer = await answerAtProvider(begun.location, { username });
  return { begun, fields: answer.fields, cookieHeader: cookieHeaderOf([begun.cookie]) };
}

function cleared(cookies: readonly ResponseCookie[]): string[] {
  return cookies.filter((c) => c.maxAge === 0 && c.value === '').map((c) => c.name);
}

describe('beginSignIn', () => {
  test('the authorization URL: code flow with form_post, PKCE S256 over the sealed verifier, state and nonce from the cookie, the client\'s redirect URI', async () => {
    const { location, cookie } = await beginSignIn(runtime, { returnUrl: '/orders?id=7' });
    const url = new URL(location);
    expect(url.origin).toBe(provider.idp.browserOrigin);
    expect(url.pathname).toBe('/authorize');
    const q = url.searchParams;
    expect(q.get('client_id')).toBe(UNIT_APP.clientId);
    expect(q.get('response_type')).toBe('code');
    expect(q.get('response_mode')).toBe('form_post');
    expect(q.get('redirect_uri')).toBe(UNIT_APP.redirectUri);
    expect(q.get('code_challenge_method')).toBe('S256');
    expect(q.get('scope')!.split(' ').sort()).toEqual([...runtime.config.signInScopes].sort());
    for (const absent of ['prompt', 'login_hint', 'domain_hint']) expect(q.has(absent)).toBe(false);
    // MSAL asks for its own optional ID token claims; no claims challenge of ours is among them.
    expect(q.get('claims')).not.toContain('access_token');

    // The auth-request cookie: __Host-, HttpOnly, SameSite=None (the provider's cross-site form POST), ten minutes.
    expect(cookie).toMatchObject({ name: AUTH_REQUEST_COOKIE, path: '/', secure: true, httpOnly: true, sameSite: 'None', maxAge: AUTH_REQUEST_LIFETIME_SECONDS });
    const pending = (await readAuthRequest(runtime.sealer, cookieHeaderOf([cookie])))!;
    expect(pending.state).toBe(q.get('state'));
    expect(pending.nonce).toBe(q.get('nonce'));
    expect(q.get('code_challenge')).toBe(createHash('sha256').update(pending.codeVerifier).digest('base64url'));
    expect(pending.returnUrl).toBe('/orders?id=7');
    expect([...pending.scopes].sort()).toEqual([...runtime.config.signInScopes].sort());
    expect(pending).not.toHaveProperty('claims');
    expect(pending.policy).toBeUndefined();
    expect(pending.exp).toBeGreaterThanOrEqual(nowSeconds() + AUTH_REQUEST_LIFETIME_SECONDS - 2);
    expect(pending.exp).toBeLessThanOrEqual(nowSeconds() + AUTH_REQUEST_LIFETIME_SECONDS);
  });

  test('state and nonce: 32 random bytes each, different every time and from each other', async () => {
    const one = new URL((await beginSignIn(runtime, {})).location).searchParams;
    const two = new URL((await beginSignIn(runtime, {})).location).searchParams;
    for (const q of [one, two]) {
      expect(q.get('state')).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(q.get('nonce')).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(q.get('state')).not.toBe(q.get('nonce'));
    }
    expect(one.get('state')).not.toBe(two.get('state'));
    expect(one.get('nonce')).not.toBe(two.get('nonce'));
  });

  test('prompt, hints, extra scopes (deduplicated) and a claims challenge reach the provider and the cookie', async () => {
    const claims = '{"access_token":{"acrs":{"essential":true,"value":"c1"}}}';
    const { location, cookie } = await beginSignIn(runtime, { prompt: 'login', loginHint: 'ada@contoso.dev', domainHint: 'contoso.dev', scopes: 'api://unit-api/Data.Read+openid  api://unit-api/Data.Read', claims });
    const q = new URL(location).searchParams;
    expect(q.get('prompt')).toBe('login');
    expect(q.get('login_hint')).toBe('ada@contoso.dev');
    expect(q.get('domain_hint')).toBe('contoso.dev');
    expect(JSON.parse(q.get('claims')!)).toMatchObject(JSON.parse(claims));
    const scopes = q.get('scope')!.split(' ');
    expect(scopes).toContain('api://unit-api/Data.Read');
    expect(scopes.filter((s) => s === 'openid')).toHaveLength(1);
    const pending = (await readAuthRequest(runtime.sealer, cookieHeaderOf([cookie])))!;
    expect(pending.scopes.filter((s) => s === 'api://unit-api/Data.Read')).toHaveLength(1);
    expect(pending.scopes).toEqual(expect.arrayContaining([...runtime.config.signInScopes, 'api://unit-api/Data.Read']));
    expect(pending.scopes).toHaveLength(runtime.config.signInScopes.length + 1);
    expect(JSON.parse(pending.claims!)).toEqual(JSON.parse(claims));
  });

  test.each(['login', 'none', 'consent', 'select_account', 'create'])('prompt=%s is passed on', async (prompt) => {
    expect(new URL((await beginSignIn(runtime, { prompt })).location).searchParams.get('prompt')).toBe(prompt);
  });

  test('an unknown prompt is 400 prompt_invalid, naming the accepted values; nothing is sent to the provider', async () => {
    const before = provider.idp.stats.requests.discovery;
    const fresh = unitRuntime(provider);
    for (const prompt of ['Login', 'none ', '', 'admin_consent']) {
      const problem = await problemOf(beginSignIn(fresh, { prompt }));
      expect(problem).toMatchObject({ status: 400, code: 'prompt_invalid', detail: 'Use one of login, none, consent, select_account, create.' });
    }
    expect(provider.idp.stats.requests.discovery).toBe(before);
  });

  test('hints: at most 256 characters, no control characters', async () => {
    const ok = 'a'.repeat(256);
    const q = new URL((await beginSignIn(runtime, { loginHint: ok, domainHint: `x y${ok.slice(3)}` })).location).searchParams;
    expect(q.get('login_hint')).toBe(ok);
    expect(q.get('domain_hint')).toBe(`x y${ok.slice(3)}`);
    for (const bad of ['a'.repeat(257), 'ada\u0000', '\u001fada', 'a\u007f', 'a\nb']) {
      expect(await problemOf(beginSignIn(runtime, { loginHint: bad }))).toMatchObject({ status: 400, code: 'loginHint_invalid' });
      expect(await problemOf(beginSignIn(runtime, { domainHint: bad }))).toMatchObject({ status: 400, code: 'domainHint_invalid' });
    }
    // An empty hint is no hint.
    const none = new URL((await beginSignIn(runtime, { loginHint: '', domainHint: '' })).location).searchParams;
    expect(none.has('login_hint')).toBe(false);
    expect(none.has('domain_hint')).toBe(false);
  });

  test('scopes: at most 20, each 1 to 256 RFC 6749 scope characters; else 400 scopes_invalid', async () => {
    const twenty = Array.from({ length: 20 }, (_, i) => `api://unit-api/s${i}`).join(' ');
    expect(new URL((await beginSignIn(runtime, { scopes: twenty })).location).searchParams.get('scope')).toContain('api://unit-api/s19');
    expect(new URL((await beginSignIn(runtime, { scopes: `a${'~'.repeat(255)} !#[]` })).location).searchParams.get('scope')).toContain(`a${'~'.repeat(255)}`);
    for (const bad of [`${twenty} api://unit-api/s20`, 'a'.repeat(257), 'api://x/"quoted"', 'back\\slash', 'caf\u00e9', 'tab\u0001']) {
      expect(await problemOf(beginSignIn(runtime, { scopes: bad }))).toMatchObject({ status: 400, code: 'scopes_invalid', detail: 'Give at most 20 space-separated scopes.' });
    }
  });

  test('a sign-in that does not fit in one cookie is 400 cookie_too_large naming the inputs, largest first', async () => {
    const longPath = `/${'p'.repeat(2000)}`;
    const longScopes = Array.from({ length: 20 }, (_, i) => `api://unit-api/${'s'.repeat(100)}${i}`).join(' ');
    const both = await problemOf(beginSignIn(runtime, { returnUrl: longPath, scopes: longScopes, loginHint: 'ada@contoso.dev' }));
    expect(both).toMatchObject({ status: 400, code: 'cookie_too_large', extensions: { inputs: ['scopes', 'returnUrl', 'loginHint'] } });
    expect(both.detail).toBe('Shorten scopes or returnUrl or loginHint: the sign-in state must fit in one browser cookie.');
    const pathFirst = await problemOf(beginSignIn(runtime, { returnUrl: longPath, scopes: longScopes.slice(0, 1900), domainHint: 'contoso.dev' }));
    expect(pathFirst.extensions).toEqual({ inputs: ['returnUrl', 'scopes', 'domainHint'] });
    // Only the claims challenge (which the user did not type): the request as a whole.
    const claimsOnly = await problemOf(beginSignIn(runtime, { claims: JSON.stringify({ id_token: { acrs: { values: Array.from({ length: 600 }, () => '') } } }) }));
    expect(claimsOnly).toMatchObject({ code: 'cookie_too_large', extensions: { inputs: [] }, detail: 'Shorten the request: the sign-in state must fit in one browser cookie.' });
    const pathOnly = await problemOf(beginSignIn(runtime, { returnUrl: `/${'p'.repeat(2040)}`, claims: JSON.stringify({ id_token: { acrs: { value: 'x'.repeat(1500) } } }) }));
    expect(pathOnly.extensions).toEqual({ inputs: ['returnUrl'] });
    // returnUrl "/" (the default) is not to blame.
    const bigScopes = Array.from({ length: 20 }, (_, i) => `${'s'.repeat(250)}${i}`).join(' ');
    const scopesOnly = await problemOf(beginSignIn(runtime, { returnUrl: '/', scopes: bigScopes }));
    expect(scopesOnly.extensions).toEqual({ inputs: ['scopes'] });
    expect(scopesOnly.detail).toBe('Shorten scopes: the sign-in state must fit in one browser cookie.');
  });
});

describe('beginSignIn: a sealing failure', () => {
  test('a failure that is not the cookie size passes through unchanged', async () => {
    const failure = problems.token_cache_unavailable();
    const bug = new Error('sealer broken');
    for (const error of [failure, bug]) {
      const broken = { ...runtime, sealer: { ...runtime.sealer, seal: async () => Promise.reject(error) } } as unknown as UnitRuntime;
      await expect(beginSignIn(broken, { returnUrl: '/x', scopes: 'a b' })).rejects.toBe(error);
    }
  });
});

describe('completeSignIn', () => {
  test('redeems the code with MSAL, writes the account row with its session and logout links, and answers with the session cookie', async () => {
    const { fields, cookieHeader } = await signInAtProvider(runtime, { returnUrl: '/orders?id=7', scopes: 'api://unit-api/Data.Read' });
    const codes = provider.idp.stats.grants.authorization_code;
    const { location, cookies } = await completeSignIn(runtime, { code: fields['code'], state: fields['state'] }, cookieHeader);
    expect(provider.idp.stats.grants.authorization_code - codes).toBe(1);
    expect(location).toBe('/orders?id=7');
    expect(cookies.map((c) => c.name)).toEqual([SESSION_COOKIE, AUTH_REQUEST_COOKIE]);
    expect(cleared(cookies)).toEqual([AUTH_REQUEST_COOKIE]);
    expect(cookies[1]).toMatchObject({ sameSite: 'None', secure: true, httpOnly: true, path: '/' });

    const session = (await readSession(runtime.sealer, cookieHeaderOf(cookies)))!;
    const homeAccountId = `${ada.oid}.${ada.tid}`;
    expect(session.homeAccountId).toBe(homeAccountId);
    expect(session.claims).toMatchObject({ sub: ada.sub, name: ada.name, preferred_username: ada.username, tid: ada.tid, iss: provider.idp.issuer });
    expect(session.sid).toMatch(/^[A-Za-z0-9_-]{24}$/);
    expect(session.iat).toBeGreaterThanOrEqual(nowSeconds() - 2);
    expect(session.iat).toBeLessThanOrEqual(nowSeconds());
    expect(session.exp - session.iat).toBe(runtime.config.session.absoluteLifetimeSeconds);
    expect(session.policy).toBeUndefined();
    expect(cookies[0]).toMatchObject({ sameSite: 'Lax', httpOnly: true, secure: true });

    // One row, its cache holding the refresh token MSAL got, and this session's record (with the provider's sid).
    const pk = partitionKeyFor(homeAccountId);
    const row = runtime.rows.rows.get(pk)!;
    expect(Object.keys(JSON.parse(row.cache).RefreshToken ?? {})).toHaveLength(1);
    // The code is redeemed for the scopes asked at /api/login.
    const accessTokens = Object.values(JSON.parse(row.cache).AccessToken ?? {}) as { target: string }[];
    expect(accessTokens.map((t) => t.target)).toEqual([expect.stringContaining('api://unit-api/Data.Read')]);
    const record = row.sessions[sessionKey(session.sid)]!;
    expect(record.providerSid).toEqual(expect.any(String));
    // Logout links: the provider's sid and (it sends back-channel logout) the subject, to this account.
    expect(runtime.rows.links.get(`sid ${record.providerSid} ${provider.idp.issuer}`)?.account).toBe(pk);
    expect(runtime.rows.links.get(`sub ${ada.sub} ${provider.idp.issuer}`)?.account).toBe(pk);
  });

  test('two sign-ins get two different session ids', async () => {
    const sids: string[] = [];
    for (let i = 0; i < 2; i++) {
      const { fields, cookieHeader } = await signInAtProvider(runtime);
      const { cookies } = await completeSignIn(runtime, { code: fields['code'], state: fields['state'] }, cookieHeader);
      sids.push((await readSession(runtime.sealer, cookieHeaderOf(cookies)))!.sid);
    }
    expect(sids[0]).not.toBe(sids[1]);
  });

  test('no auth-request cookie: 400 state_missing naming the address to start from, no cookie touched, nothing redeemed', async () => {
    const { fields } = await signInAtProvider(runtime);
    const codes = provider.idp.stats.grants.authorization_code;
    for (const header of [null, '', `${AUTH_REQUEST_COOKIE}=forged`]) {
      const problem = await problemOf(completeSignIn(runtime, { code: fields['code'], state: fields['state'] }, header));
      expect(problem).toMatchObject({ status: 400, code: 'state_missing', cookies: [] });
      expect(problem.detail).toBe('The sign-in request expired, or was started in another browser or at another address than http://localhost:7071/api/. Open http://localhost:7071/api/ and sign in again.');
    }
    expect(provider.idp.stats.grants.authorization_code).toBe(codes);
  });

  test('another state: 400 state_mismatch, the pending sign-in\'s cookie kept, nothing redeemed', async () => {
    const { fields, cookieHeader } = await signInAtProvider(runtime);
    const codes = provider.idp.stats.grants.authorization_code;
    for (const state of [`${fields['state']}x`, null, undefined, '']) {
      expect(await problemOf(completeSignIn(runtime, { code: fields['code'], state }, cookieHeader))).toMatchObject({ status: 400, code: 'state_mismatch', cookies: [] });
    }
    expect(provider.idp.stats.grants.authorization_code).toBe(codes);
    expect(runtime.rows.rows.size).toBe(0);
  });

  test('access_denied (the user said no): back to the page with signInError, the auth-request cookie cleared, nothing redeemed', async () => {
    const start = await beginSignIn(runtime, { returnUrl: '/orders?id=7#top' });
    const state = new URL(start.location).searchParams.get('state');
    const codes = provider.idp.stats.grants.authorization_code;
    const answer = await completeSignIn(runtime, { error: 'access_denied', errorDescription: 'AADSTS65004: declined', state }, cookieHeaderOf([start.cookie]));
    expect(answer.location).toBe('/orders?id=7&signInError=access_denied#top');
    expect(answer.cookies.map((c) => c.name)).toEqual([AUTH_REQUEST_COOKIE]);
    expect(cleared(answer.cookies)).toEqual([AUTH_REQUEST_COOKIE]);
    expect(provider.idp.stats.grants.authorization_code).toBe(codes);
  });

  test('another provider error: 400 provider_error echoing a code-like error only, the auth-request cookie cleared', async () => {
    const start = await beginSignIn(runtime, {});
    const state = new URL(start.location).searchParams.get('state');
    const header = cookieHeaderOf([start.cookie]);
    const problem = await problemOf(completeSignIn(runtime, { error: 'invalid_scope', state }, header));
    expect(problem).toMatchObject({ status: 400, code: 'provider_error', detail: 'Provider error: invalid_scope.', extensions: { error: 'invalid_scope' } });
    expect(cleared(problem.cookies)).toEqual([AUTH_REQUEST_COOKIE]);
    expect(await problemOf(completeSignIn(runtime, { error: '<b>free text</b>', state }, header))).toMatchObject({ code: 'provider_error', detail: 'Provider error: unknown.' });
  });

  test('no code: 400 code_missing, the auth-request cookie cleared', async () => {
    const start = await beginSignIn(runtime, {});
    const state = new URL(start.location).searchParams.get('state');
    for (const code of [undefined, null, '']) {
      const problem = await problemOf(completeSignIn(runtime, { code, state }, cookieHeaderOf([start.cookie])));
      expect(problem).toMatchObject({ status: 400, code: 'code_missing' });
      expect(cleared(problem.cookies)).toEqual([AUTH_REQUEST_COOKIE]);
    }
  });

  test('an iss parameter that is not the provider\'s issuer (RFC 9207): 400 issuer_mismatch before the code or error is looked at', async () => {
    const { fields, cookieHeader } = await signInAtProvider(runtime);
    const codes = provider.idp.stats.grants.authorization_code;
    const problem = await problemOf(completeSignIn(runtime, { code: fields['code'], state: fields['state'], iss: 'https://evil.example' }, cookieHeader));
    expect(problem).toMatchObject({ status: 400, code: 'issuer_mismatch' });
    expect(cleared(problem.cookies)).toEqual([AUTH_REQUEST_COOKIE]);
    expect(await problemOf(completeSignIn(runtime, { error: 'server_error', state: fields['state'], iss: 'https://evil.example' }, cookieHeader))).toMatchObject({ code: 'issuer_mismatch' });
    expect(provider.idp.stats.grants.authorization_code).toBe(codes);
    // The provider's own issuer is accepted.
    await expect(completeSignIn(runtime, { code: fields['code'], state: fields['state'], iss: provider.idp.issuer }, cookieHeader)).resolves.toMatchObject({ location: '/' });
  });

  test('a code the provider refuses (used twice): 400 code_rejected with its code, the auth-request cookie cleared', async () => {
    const { fields, cookieHeader } = await signInAtProvider(runtime);
    await completeSignIn(runtime, { code: fields['code'], state: fields['state'] }, cookieHeader);
    const problem = await problemOf(completeSignIn(runtime, { code: fields['code'], state: fields['state'] }, cookieHeader));
    expect(problem).toMatchObject({ status: 400, code: 'code_rejected', detail: 'Provider error: invalid_grant. Sign in again.' });
    expect(cleared(problem.cookies)).toEqual([AUTH_REQUEST_COOKIE]);
  });

  test('an ID token with another nonce: 401 id_token_invalid and no row written', async () => {
    const { fields, cookieHeader } = await signInAtProvider(runtime);
    provider.idp.controls.nextIdToken({ nonce: 'not-this-sign-in' });
    const problem = await problemOf(completeSignIn(runtime, { code: fields['code'], state: fields['state'] }, cookieHeader));
    expect(problem).toMatchObject({ status: 401, code: 'id_token_invalid' });
    expect(cleared(problem.cookies)).toEqual([AUTH_REQUEST_COOKIE]);
    expect(runtime.rows.rows.size).toBe(0);
  });

  test('an ID token the app cannot verify (foreign key): 401 id_token_invalid and no row written', async () => {
    const { fields, cookieHeader } = await signInAtProvider(runtime);
    provider.idp.controls.nextIdToken({ signWithForeignKey: true });
    expect(await problemOf(completeSignIn(runtime, { code: fields['code'], state: fields['state'] }, cookieHeader))).toMatchObject({ status: 401, code: 'id_token_invalid' });
    expect(runtime.rows.rows.size).toBe(0);
  });

  test('AllowedTenants: a user of another tenant is 403 tenant_not_allowed and no row is written; a listed tenant signs in', async () => {
    const elsewhere = unitRuntime(provider, { settings: { AzureAd__AllowedTenants: '00000000-0000-0000-0000-000000000001' } });
    const { fields, cookieHeader } = await signInAtProvider(elsewhere);
    const problem = await problemOf(completeSignIn(elsewhere, { code: fields['code'], state: fields['state'] }, cookieHeader));
    expect(problem).toMatchObject({
      status: 403,
      code: 'tenant_not_allowed',
      detail: 'Accounts of your organization (tenant) are not allowed to sign in here. Sign in with an account of an allowed organization.',
      extensions: { loginUrl: '/api/login?prompt=select_account&returnUrl=%2Fapi%2F' },
    });
    expect(cleared(problem.cookies)).toEqual([AUTH_REQUEST_COOKIE]);
    expect(elsewhere.rows.rows.size).toBe(0);

    const here = unitRuntime(provider, { settings: { AzureAd__AllowedTenants: DEV_TENANT_ID.toUpperCase() } });
    const ok = await signInAtProvider(here);
    await expect(completeSignIn(here, { code: ok.fields['code'], state: ok.fields['state'] }, ok.cookieHeader)).resolves.toMatchObject({ location: '/' });
    expect(here.rows.rows.size).toBe(1);
  });

  test('a provider that cannot be reached at the callback: 502 provider_unavailable, the auth-request cookie cleared', async () => {
    const { fields, cookieHeader } = await signInAtProvider(runtime);
    provider.idp.controls.failTokenEndpoint(503, 1);
    const problem = await problemOf(completeSignIn(runtime, { code: fields['code'], state: fields['state'] }, cookieHeader));
    expect(problem).toMatchObject({ status: 502, code: 'provider_unavailable' });
    expect(cleared(problem.cookies)).toEqual([AUTH_REQUEST_COOKIE]);
    expect(runtime.rows.rows.size).toBe(0);
  });
});

describe('the provider\'s session id (sid)', () => {
  async function recordedSid(sid: unknown): Promise<unknown> {
    const rt = unitRuntime(provider);
    const { fields, cookieHeader } = await signInAtProvider(rt);
    provider.idp.controls.nextIdToken({ sid });
    const { cookies } = await completeSignIn(rt, { code: fields['code'], state: fields['state'] }, cookieHeader);
    const session = (await readSession(rt.sealer, cookieHeaderOf(cookies)))!;
    const record = rt.rows.rows.get(partitionKeyFor(session.homeAccountId))!.sessions[sessionKey(session.sid)]!;
    const sidLinks = [...rt.rows.links.keys()].filter((k) => k.startsWith('sid '));
    expect(sidLinks).toEqual(record.providerSid === undefined ? [] : [`sid ${record.providerSid} ${provider.idp.issuer}`]);
    return record.providerSid;
  }

  test('kept (session record, logout link) when it is a string of at most 256 characters; else the sign-in goes on without it', async () => {
    expect(await recordedSid('s'.repeat(256))).toBe('s'.repeat(256));
    expect(await recordedSid('s'.repeat(257))).toBeUndefined();
    expect(await recordedSid(12345)).toBeUndefined();
    expect(await recordedSid(['s'])).toBeUndefined();
  });
});

describe('completeSignIn: failures that are not the provider\'s', () => {
  test('an error that is not a problem (a store bug) passes through unchanged', async () => {
    const { fields, cookieHeader } = await signInAtProvider(runtime);
    const bug = new TypeError('store broken');
    runtime.rows.read = async () => Promise.reject(bug);
    await expect(completeSignIn(runtime, { code: fields['code'], state: fields['state'] }, cookieHeader)).rejects.toBe(bug);
  });
});

describe('MSAL\'s client', () => {
  test('client capabilities (cp1) are declared in the authorization request; none by default', async () => {
    const claimsOf = async (rt: UnitRuntime) => JSON.parse(new URL((await beginSignIn(rt, {})).location).searchParams.get('claims') ?? '{}') as Record<string, Record<string, unknown>>;
    expect((await claimsOf(unitRuntime(provider, { settings: { AzureAd__ClientCapabilities: 'cp1' } })))['access_token']).toEqual({ xms_cc: { values: ['cp1'] } });
    expect((await claimsOf(runtime))['access_token']).toBeUndefined();
  });

  const behindGateway = (rt: UnitRuntime = runtime) => withTokenEndpointAt(rt, gatewayUrl);

  test('the token request: the code, the verifier sealed at /api/login, the redirect URI, the scopes asked there', async () => {
    gatewayMode = 'forward';
    tokenRequests.length = 0;
    try {
      const rt = behindGateway();
      const { begun, fields, cookieHeader } = await signInAtProvider(rt, { scopes: 'api://unit-api/Data.Read' });
      await completeSignIn(rt, { code: fields['code'], state: fields['state'] }, cookieHeader);
      const pending = (await readAuthRequest(runtime.sealer, cookieHeaderOf([begun.cookie])))!;
      expect(tokenRequests).toHaveLength(1);
      const sent = tokenRequests[0]!;
      expect(sent.get('grant_type')).toBe('authorization_code');
      expect(sent.get('code')).toBe(fields['code']);
      expect(sent.get('code_verifier')).toBe(pending.codeVerifier);
      expect(sent.get('redirect_uri')).toBe(UNIT_APP.redirectUri);
      expect(sent.get('client_id')).toBe(UNIT_APP.clientId);
      expect(sent.get('scope')!.split(' ')).toEqual(expect.arrayContaining(['openid', 'profile', 'offline_access', 'api://unit-api/Data.Read']));
      // A generic OpenID provider is spoken to in plain OIDC: none of Microsoft's telemetry parameters.
      expect(sent.has('x-client-current-telemetry')).toBe(false);
    } finally {
      gatewayMode = 'html';
    }
  });

  test('Entra (a tenant authority) is spoken to in MSAL\'s AAD dialect: its telemetry parameters go with the token request', async () => {
    gatewayMode = 'forward';
    tokenRequests.length = 0;
    try {
      const rt = behindGateway(unitRuntime(provider, { shape: 'tenant' }));
      const { fields, cookieHeader } = await signInAtProvider(rt);
      await completeSignIn(rt, { code: fields['code'], state: fields['state'] }, cookieHeader);
      expect(tokenRequests).toHaveLength(1);
      expect(tokenRequests[0]!.has('x-client-current-telemetry')).toBe(true);
    } finally {
      gatewayMode = 'html';
    }
  });

  test('a token endpoint that answers an HTML page (a gateway): 502 provider_unavailable saying so, not MSAL\'s generic network error', async () => {
    const gatewayed = behindGateway();
    const { fields, cookieHeader } = await signInAtProvider(gatewayed);
    const problem = await problemOf(completeSignIn(gatewayed, { code: fields['code'], state: fields['state'] }, cookieHeader));
    expect(problem).toMatchObject({ status: 502, code: 'provider_unavailable', detail: 'The token endpoint answered 502 without JSON.' });
    expect(cleared(problem.cookies)).toEqual([AUTH_REQUEST_COOKIE]);
  });
});

describe('B2C user flows', () => {
  let b2c: UnitRuntime;
  beforeEach(() => {
    b2c = unitRuntime(provider, { shape: 'b2c' });
  });

  test('a sign-in runs at the requested flow\'s authority and the session remembers the flow', async () => {
    const { begun, fields, cookieHeader } = await signInAtProvider(b2c, { policy: 'b2c_1_EDIT' });
    expect(new URL(begun.location).pathname.toLowerCase()).toContain(`/${DEV_B2C.editProfile.toLowerCase()}/`);
    expect((await readAuthRequest(b2c.sealer, cookieHeader))!.policy).toBe(DEV_B2C.editProfile);
    const { cookies } = await completeSignIn(b2c, { code: fields['code'], state: fields['state'] }, cookieHeader);
    expect((await readSession(b2c.sealer, cookieHeaderOf(cookies)))!.policy).toBe(DEV_B2C.editProfile);
  });

  test('"forgot your password?" (AADB2C90118) starts the reset flow, back to the same page; the auth-request cookie cleared', async () => {
    const start = await beginSignIn(b2c, { returnUrl: '/orders' });
    const state = new URL(start.location).searchParams.get('state');
    const answer = await completeSignIn(b2c, { error: 'access_denied', errorDescription: 'AADB2C90118: The user has forgotten their password.', state }, cookieHeaderOf([start.cookie]));
    expect(answer.location).toBe(`/api/login?policy=${DEV_B2C.resetPassword}&returnUrl=%2Forders`);
    expect(cleared(answer.cookies)).toEqual([AUTH_REQUEST_COOKIE]);
    // A cancelled flow is the calm access_denied.
    const cancelled = await completeSignIn(b2c, { error: 'access_denied', errorDescription: 'AADB2C90091: The user has cancelled.', state }, cookieHeaderOf([start.cookie]));
    expect(cancelled.location).toBe('/orders?signInError=access_denied');
  });

  test('an unknown flow is 400 policy_unknown before anything is sent', async () => {
    expect(await problemOf(beginSignIn(b2c, { policy: 'B2C_1_other' }))).toMatchObject({ status: 400, code: 'policy_unknown' });
  });
});
