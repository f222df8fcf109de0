import { SignJWT, generateKeyPair, type JWTPayload } from 'jose';
import { odata } from '@azure/data-tables';
import { startLocalStack, DEMO_API_AUDIENCE, DEV_CLIENT_ID, OWN_API_AUDIENCE, type LocalStack } from '../../dev/stack';
import { DEFAULT_USERS, DEV_TENANT_ID } from '../../dev/idp';
import { CookieJar, expectNoSecrets, postBack, proxyCall, signIn, signInAtProvider } from '../support/browserless';
import { cacheTable } from '../support/cacheRows';
import { purgeExpired } from '../../shared/tokenCache/purge';

/**
 * On-behalf-of through the real functions: `/api/obo/{api}/{*path}` is a protected web API.
 * The demo API checks the audience and scope of the token it gets; the provider's counters
 * show which calls reached it. Tokens for the negative cases are signed by the provider's own
 * key (or a stranger's), as an attacker or a misconfigured client would send them.
 */
let stack: LocalStack;
const ada = DEFAULT_USERS.find((u) => u.username === 'ada@contoso.dev')!;

beforeAll(async () => {
  stack = await startLocalStack({ settings: {}, port: 0, log: () => {}, obo: true, idp: { authority: 'tenant' } });
  await cacheTable(stack).createTable();
});
afterAll(async () => {
  await stack?.close();
});

function issuer(): string {
  return `${stack.idp!.issuer}/${DEV_TENANT_ID}/v2.0`;
}

/** A user's access token for the app's own API, as the provider would issue it; `overrides` make it wrong. */
function tokenClaims(overrides: JWTPayload = {}): JWTPayload {
  const now = Math.floor(Date.now() / 1000);
  return {
    iss: issuer(),
    aud: OWN_API_AUDIENCE,
    sub: ada.sub,
    oid: ada.oid,
    tid: ada.tid,
    name: ada.name,
    azp: 'some-spa',
    scp: 'access_as_user',
    iat: now,
    nbf: now,
    exp: now + 600,
    ver: '2.0',
    uti: Math.random().toString(36).slice(2),
    ...overrides,
  };
}

function providerSigned(claims: JWTPayload): Promise<string> {
  return stack.idp!.controls.signLogoutToken(claims, { typ: 'JWT' });
}

function oboCall(token: string | undefined, path = 'demo/profile', init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  if (token !== undefined) headers.set('authorization', `Bearer ${token}`);
  return fetch(`${stack.appUrl}/api/obo/${path}`, { ...init, headers, redirect: 'manual' });
}

function exchanges(): number {
  return stack.idp!.stats.grants.on_behalf_of;
}

async function oboRows(): Promise<Record<string, unknown>[]> {
  const rows: Record<string, unknown>[] = [];
  for await (const row of cacheTable(stack).listEntities<Record<string, unknown>>({ queryOptions: { filter: odata`PartitionKey ge 'obo-' and PartitionKey lt 'obo.'` } })) rows.push(row);
  return rows;
}

test('end to end: the proxy gets a token for the app\'s own API, obo exchanges it for the demo API\'s; the second call is served from the cached exchange', async () => {
  const jar = new CookieJar();
  await signIn(stack.appUrl, jar);
  const before = exchanges();
  const first = await proxyCall(stack.appUrl, jar, 'obo/profile');
  expect(first.status).toBe(200);
  // The demo API accepted it (its audience and Data.Read), and reports what it received: the same user, asked for by the app.
  expect(await first.json()).toMatchObject({ user: { name: 'Ada Lovelace', oid: ada.oid, tid: ada.tid }, scopes: ['Data.Read'], audience: DEMO_API_AUDIENCE, azp: DEV_CLIENT_ID });
  expect(exchanges() - before).toBe(1);

  const second = await proxyCall(stack.appUrl, jar, 'obo/profile');
  expect(second.status).toBe(200);
  expect(exchanges() - before).toBe(1);
});

test('a valid token: 200 from the demo API, no cookie; the same token again is served from its row (one exchange); another token is exchanged anew', async () => {
  const token = await providerSigned(tokenClaims());
  const before = exchanges();
  const demoCalls = stack.demoApi!.stats.authorized;
  const first = await oboCall(token);
  expect(first.status).toBe(200);
  expect(first.headers.get('set-cookie')).toBeNull();
  const body = await first.json();
  expect(body).toMatchObject({ user: { oid: ada.oid }, audience: DEMO_API_AUDIENCE, azp: DEV_CLIENT_ID, scopes: ['Data.Read'] });
  expectNoSecrets(JSON.stringify(body));

  for (let i = 0; i < 3; i++) expect((await oboCall(token)).status).toBe(200);
  expect(exchanges() - before).toBe(1);
  expect(stack.demoApi!.stats.authorized - demoCalls).toBe(4);

  // A new token of the same user is a new assertion: keyed per incoming token, as MSAL does.
  expect((await oboCall(await providerSigned(tokenClaims()))).status).toBe(200);
  expect(exchanges() - before).toBe(2);
});

test('concurrent calls with one new token share one exchange', async () => {
  const token = await providerSigned(tokenClaims());
  const before = exchanges();
  const answers = await Promise.all(Array.from({ length: 10 }, () => oboCall(token)));
  expect(answers.map((a) => a.status)).toEqual(Array(10).fill(200));
  expect(exchanges() - before).toBe(1);
});

test('the cached exchange is one row per incoming token, sealed, expiring with the incoming token: the purge removes it then', async () => {
  const exp = Math.floor(Date.now() / 1000) + 420;
  const token = await providerSigned(tokenClaims({ exp }));
  const rowsBefore = (await oboRows()).length;
  expect((await oboCall(token)).status).toBe(200);
  const rows = await oboRows();
  expect(rows.length).toBe(rowsBefore + 1);
  const row = rows.find((r) => (r['ExpiresOn'] as Date).getTime() === exp * 1000);
  expect(row).toBeDefined();
  expect(row!['Format']).toBe('A256GCM');
  expect(JSON.stringify(row)).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}/);

  // Once the incoming token has expired, the purge timer removes the row; a later token's row stays.
  const later = await providerSigned(tokenClaims({ exp: exp + 3600 }));
  expect((await oboCall(later)).status).toBe(200);
  await purgeExpired((await stack.runtime.get()).tokenCache, { now: new Date((exp + 1) * 1000) });
  const left = (await oboRows()).map((r) => (r['ExpiresOn'] as Date).getTime());
  expect(left).not.toContain(exp * 1000);
  expect(left).toContain((exp + 3600) * 1000);
});

describe('an invalid token: 401 invalid_token, never sent to the provider or the API', () => {
  async function expectInvalid(response: Response, detail: RegExp): Promise<void> {
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toMatch(/^Bearer error="invalid_token", error_description="[^"]+"$/);
    expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(response.headers.get('set-cookie')).toBeNull();
    const problem = (await response.json()) as { code: string; detail: string };
    expect(problem.code).toBe('bearer_token_invalid');
    expect(problem.detail).toMatch(detail);
  }

  let before: number;
  let demoCalls: number;
  beforeEach(() => {
    before = exchanges();
    demoCalls = stack.demoApi!.stats.requests;
  });
  afterEach(() => {
    expect(exchanges()).toBe(before);
    expect(stack.demoApi!.stats.requests).toBe(demoCalls);
  });

  test('another audience (a token for the demo API itself)', async () => {
    await expectInvalid(await oboCall(await providerSigned(tokenClaims({ aud: DEMO_API_AUDIENCE }))), /another audience/);
  });
  test('another issuer', async () => {
    await expectInvalid(await oboCall(await providerSigned(tokenClaims({ iss: `${stack.idp!.issuer}/9b1f3c4d-0000-4000-8000-000000000000/v2.0` }))), /another issuer/);
  });
  test('expired (beyond the 5 minutes of clock skew)', async () => {
    const past = Math.floor(Date.now() / 1000) - 3600;
    await expectInvalid(await oboCall(await providerSigned(tokenClaims({ iat: past - 600, nbf: past - 600, exp: past }))), /expired/);
  });
  test('signed by a key the provider does not publish (with its kid)', async () => {
    const { privateKey } = await generateKeyPair('RS256');
    const kid = JSON.parse(Buffer.from((await providerSigned(tokenClaims())).split('.')[0]!, 'base64url').toString()).kid as string;
    const forged = await new SignJWT(tokenClaims()).setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid }).sign(privateKey);
    await expectInvalid(await oboCall(forged), /signature/);
  });
  test('unsigned (alg none)', async () => {
    const header = Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url');
    const payload = Buffer.from(JSON.stringify(tokenClaims())).toString('base64url');
    await expectInvalid(await oboCall(`${header}.${payload}.`), /algorithm|malformed/);
  });
  test('not a JWT', async () => {
    await expectInvalid(await oboCall('not-a-token'), /malformed/);
  });
});

test('no bearer token (none, or a cookie only): 401 with a bare Bearer challenge (RFC 6750 3.1), nothing set', async () => {
  for (const init of [{}, { headers: { cookie: '__Host-th.session=x' } }, { headers: { authorization: 'Basic YTpi' } }]) {
    const response = await oboCall(undefined, 'demo/profile', init);
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toBe('Bearer');
    expect(response.headers.get('set-cookie')).toBeNull();
    expect(await response.json()).toMatchObject({ code: 'bearer_token_missing', status: 401 });
  }
});

test('a token without the required scope: 403 insufficient_scope naming it; nothing exchanged', async () => {
  const before = exchanges();
  const response = await oboCall(await providerSigned(tokenClaims({ scp: 'Other.Read' })));
  expect(response.status).toBe(403);
  expect(response.headers.get('www-authenticate')).toBe('Bearer error="insufficient_scope", scope="access_as_user", error_description="The token has none of the required scopes."');
  expect(await response.json()).toMatchObject({ code: 'bearer_scope_insufficient', requiredScopes: ['access_as_user'] });
  expect(exchanges()).toBe(before);
});

test('no anti-forgery header needed; unknown APIs, the app\'s own API and bad paths are refused after the token is checked', async () => {
  const token = await providerSigned(tokenClaims());
  expect((await oboCall(token, 'demo/profile', { headers: { 'x-csrf': '0' } })).status).toBe(200);
  expect(await (await oboCall(token, 'nope/profile')).json()).toMatchObject({ status: 404, code: 'api_unknown' });
  // `obo` is the app's own API (its scope is api://local-dev-client/...): calling it from obo would loop.
  expect(await (await oboCall(token, 'obo/profile')).json()).toMatchObject({ status: 404, code: 'api_unknown' });
  expect((await oboCall(token, 'demo/a%5Cb')).status).toBe(400);
  // Without a token the API's existence is not revealed.
  expect((await oboCall(undefined, 'nope/profile')).status).toBe(401);
});

test('a body is forwarded with the exchanged token; the caller\'s Authorization and Cookie never reach the API', async () => {
  const token = await providerSigned(tokenClaims());
  const response = await oboCall(token, 'demo/echo/x?y=1', { method: 'POST', body: 'hello', headers: { 'content-type': 'text/plain', cookie: 'a=b' } });
  expect(response.status).toBe(200);
  const echo = (await response.json()) as { method: string; path: string; body: string; cookie: boolean; headers: Record<string, string> };
  expect(echo).toMatchObject({ method: 'POST', path: '/echo/x', body: 'hello', cookie: false });
  expect(echo.headers['authorization']).toBe('Bearer <redacted>');
});

test('an app-only caller: admitted only by Obo__RequiredAppRoles, and the API is called with the app\'s own token for its resource', async () => {
  const daemon = { oid: 'c0ffee00-0000-4000-8000-0000000000d4' };
  const appToken = await providerSigned(tokenClaims({ sub: daemon.oid, oid: daemon.oid, name: undefined, scp: undefined, roles: ['Orders.Sync'], idtyp: 'app', azp: 'daemon-app' }));
  // Not configured: no scope, no admitted role.
  const refused = await oboCall(appToken);
  expect(refused.status).toBe(403);
  expect(await refused.json()).toMatchObject({ code: 'bearer_scope_insufficient', detail: 'The token has no scope and none of the required app roles.' });

  stack.restartRuntime({ ...stack.settings, Obo__RequiredScopes: 'access_as_user', Obo__RequiredAppRoles: 'Orders.Sync' });
  try {
    const before = { obo: exchanges(), app: stack.idp!.stats.grants.client_credentials };
    const answer = await oboCall(appToken);
    expect(answer.status).toBe(200);
    // The demo API got an app token of this app (roles from api://demo-api/.default), not a user's.
    expect(await answer.json()).toMatchObject({ user: { name: 'Local token handler' }, scopes: ['Data.Read'], audience: DEMO_API_AUDIENCE, azp: DEV_CLIENT_ID });
    expect({ obo: exchanges() - before.obo, app: stack.idp!.stats.grants.client_credentials - before.app }).toEqual({ obo: 0, app: 1 });
    // A user's token still needs its scope.
    expect((await oboCall(await providerSigned(tokenClaims()))).status).toBe(200);
  } finally {
    stack.restartRuntime();
  }
});

describe('Conditional Access on the downstream API (authentication context c1)', () => {
  let ca: LocalStack;
  beforeAll(async () => {
    ca = await startLocalStack({ settings: {}, port: 0, log: () => {}, obo: true, idp: { authority: 'tenant', demoApiAuthContext: 'c1' } });
    await cacheTable(ca).createTable();
  });
  afterAll(async () => {
    await ca?.close();
  });

  test('obo answers the refused exchange with a claims challenge the caller can answer: 401 insufficient_claims with the claims', async () => {
    const token = await ca.idp!.controls.signLogoutToken({ ...tokenClaims(), iss: `${ca.idp!.issuer}/${DEV_TENANT_ID}/v2.0` }, { typ: 'JWT' });
    const response = await fetch(`${ca.appUrl}/api/obo/demo/profile`, { headers: { authorization: `Bearer ${token}` } });
    expect(response.status).toBe(401);
    const challenge = /^Bearer error="insufficient_claims", error_description="[^"]+", claims="([A-Za-z0-9+/=]+)"$/.exec(response.headers.get('www-authenticate') ?? '');
    expect(challenge).not.toBeNull();
    const claims = { access_token: { acrs: { essential: true, value: 'c1' } } };
    expect(JSON.parse(Buffer.from(challenge![1]!, 'base64').toString('utf8'))).toEqual(claims);
    expect(await response.json()).toMatchObject({ code: 'interaction_required', claims: JSON.stringify(claims) });
    expect(ca.demoApi!.stats.requests).toBe(0);
  });

  test('through the proxy: the challenge reaches the browser as a loginUrl with the claims; after the step-up the same call succeeds', async () => {
    const jar = new CookieJar();
    await signIn(ca.appUrl, jar);
    const refused = await proxyCall(ca.appUrl, jar, 'obo/profile', { headers: { referer: `${ca.appUrl}/api/` } });
    expect(refused.status).toBe(401);
    const problem = (await refused.json()) as { code: string; loginUrl: string };
    expect(problem.code).toBe('interaction_required');
    const login = new URL(problem.loginUrl, ca.appUrl);
    expect(JSON.parse(login.searchParams.get('claims')!)).toEqual({ access_token: { acrs: { essential: true, value: 'c1' } } });

    const answer = await signInAtProvider(ca.appUrl, jar, { loginQuery: login.search.slice(1) });
    expect((await postBack(answer, jar)).status).toBe(302);
    const ok = await proxyCall(ca.appUrl, jar, 'obo/profile');
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({ user: { oid: ada.oid }, audience: DEMO_API_AUDIENCE, azp: DEV_CLIENT_ID });
  });
});
