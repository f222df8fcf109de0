import { createPrivateKey, X509Certificate, createHash } from 'node:crypto';
import { SignJWT, createRemoteJWKSet, exportJWK, decodeJwt, decodeProtectedHeader, generateKeyPair, jwtVerify, type JWTPayload } from 'jose';
import { startDevIdentityProvider, type DevIdentityProvider } from '../../dev/idp';
import { createDevCertificates, trustCertificateAuthority } from '../../dev/tls';
import { authorizeUrl, cookieOf, get, pkce, postForm, redeem, signIn, transactionOf } from './idpFlow';

const REDIRECT = 'http://localhost:7071/api/redirect';
const POST_LOGOUT = 'http://localhost:7071/';
const DEMO = 'api://demo-api/Data.Read';
const OTHER = 'api://other-api/Other.Read';
const SECRET = 'web-secret';

const tlsMaterial = createDevCertificates();
// A second throwaway pair stands in for the app's client certificate (private_key_jwt).
const clientCert = createDevCertificates();
const clientKey = createPrivateKey(clientCert.keyPem);
const certSha256 = createHash('sha256').update(new X509Certificate(clientCert.certPem).raw).digest('base64url');

let idp: DevIdentityProvider;
let consentIdp: DevIdentityProvider;
// A managed identity's issuer, for the federated credential (its keys given inline).
let workload: Awaited<ReturnType<typeof generateKeyPair>>;
const WORKLOAD_ISSUER = 'https://workload-issuer.example';

async function clients() {
  workload ??= await generateKeyPair('RS256');
  const jwk = { ...(await exportJWK(workload.publicKey)), kid: 'mi-key' };
  return [
    { clientId: 'web', clientSecret: SECRET, redirectUris: [REDIRECT], postLogoutRedirectUris: [POST_LOGOUT] },
    { clientId: 'cert-app', certificatePem: clientCert.certPem, redirectUris: [REDIRECT] },
    { clientId: 'fic-app', redirectUris: [REDIRECT], federatedIssuer: { issuer: WORKLOAD_ISSUER, subject: 'mi-object-id', jwks: { keys: [jwk] } } },
  ];
}
const apis = [
  { audience: 'api://demo-api', scopes: [DEMO, 'api://demo-api/Data.Write'] },
  { audience: 'api://other-api', scopes: [OTHER] },
];

beforeAll(async () => {
  trustCertificateAuthority(tlsMaterial.caCertPem);
  const tls = { certPem: tlsMaterial.certPem, keyPem: tlsMaterial.keyPem };
  [idp, consentIdp] = await Promise.all([
    startDevIdentityProvider({ tls, clients: await clients(), apis }),
    startDevIdentityProvider({ tls, clients: await clients(), apis, consentRequired: true }),
  ]);
});

afterAll(async () => {
  await Promise.all([idp?.close(), consentIdp?.close()]);
});

beforeEach(() => idp.stats.reset());

async function codeFor(scope = `openid profile offline_access ${DEMO}`, extra: { nonce?: string; provider?: DevIdentityProvider; clientId?: string } = {}) {
  const provider = extra.provider ?? idp;
  const p = pkce();
  const consent = provider === consentIdp ? { consent: 'accept' as const } : {};
  const result = await signIn(provider.issuer, { clientId: extra.clientId ?? 'web', redirectUri: REDIRECT, scope, challenge: p.challenge, nonce: extra.nonce ?? 'n-1' }, undefined, undefined, consent);
  return { ...result, verifier: p.verifier };
}

function redeemWithSecret(code: string, verifier: string, provider = idp) {
  return redeem(provider.issuer, { grant_type: 'authorization_code', client_id: 'web', client_secret: SECRET, code, code_verifier: verifier, redirect_uri: REDIRECT });
}

async function verifyWithJwks(token: string, options: { audience: string; provider?: DevIdentityProvider }): Promise<JWTPayload> {
  const provider = options.provider ?? idp;
  const { payload } = await jwtVerify(token, createRemoteJWKSet(new URL(`${provider.issuer}/jwks`)), { issuer: provider.issuer, audience: options.audience });
  return payload;
}

async function assertion(claims: JWTPayload, options: { key?: Parameters<SignJWT['sign']>[0]; header?: Record<string, string> } = {}): Promise<string> {
  return new SignJWT({ jti: crypto.randomUUID(), ...claims })
    .setProtectedHeader({ alg: 'RS256', typ: 'JWT', 'x5t#S256': certSha256, ...options.header })
    .setIssuedAt()
    .setExpirationTime('5m')
    .sign(options.key ?? clientKey);
}

describe('discovery and keys', () => {
  test('the discovery document lists every endpoint and capability', async () => {
    const response = await fetch(`${idp.issuer}/.well-known/openid-configuration`);
    expect(response.status).toBe(200);
    const doc = (await response.json()) as Record<string, unknown>;
    expect(idp.issuer).toBe(`https://127.0.0.1:${idp.port}`);
    expect(doc).toMatchObject({
      issuer: idp.issuer,
      authorization_endpoint: `${idp.browserOrigin}/authorize`,
      token_endpoint: `${idp.issuer}/token`,
      jwks_uri: `${idp.issuer}/jwks`,
      end_session_endpoint: `${idp.browserOrigin}/logout`,
      response_types_supported: ['code'],
      response_modes_supported: ['query', 'form_post'],
      code_challenge_methods_supported: ['S256'],
      id_token_signing_alg_values_supported: ['RS256'],
      token_endpoint_auth_methods_supported: ['client_secret_post', 'client_secret_basic', 'private_key_jwt'],
    });
    expect(doc.scopes_supported).toEqual(expect.arrayContaining(['openid', 'offline_access', DEMO, OTHER]));
    expect(doc.claims_supported).toEqual(expect.arrayContaining(['oid', 'tid', 'nonce', 'preferred_username']));
    expect(idp.stats.requests.discovery).toBe(1);
  });

  test('the JWKS publishes public RSA keys only', async () => {
    const jwks = (await (await fetch(`${idp.issuer}/jwks`)).json()) as { keys: Record<string, unknown>[] };
    expect(jwks.keys.length).toBeGreaterThan(0);
    for (const key of jwks.keys) {
      expect(key).toMatchObject({ kty: 'RSA', use: 'sig', alg: 'RS256' });
      expect(key.kid).toEqual(expect.any(String));
      expect(key.d).toBeUndefined();
    }
  });
});

describe('/authorize', () => {
  test('an unknown client or an unregistered redirect URI gets an error page, never a redirect', async () => {
    const p = pkce();
    const unknown = await get(authorizeUrl(idp.issuer, { clientId: 'nobody', redirectUri: REDIRECT, challenge: p.challenge }));
    expect(unknown.status).toBe(400);
    expect(unknown.headers.get('location')).toBeNull();
    expect(await unknown.text()).toContain('AADSTS700016');

    const stranger = await get(authorizeUrl(idp.issuer, { clientId: 'web', redirectUri: 'https://evil.example/cb', challenge: p.challenge }));
    expect(stranger.status).toBe(400);
    expect(stranger.headers.get('location')).toBeNull();
    expect(await stranger.text()).toContain('AADSTS50011');
  });

  test.each([
    ['no PKCE', { challenge: undefined }, 'invalid_request'],
    ['plain PKCE', { challenge: 'x'.repeat(43), extra: { code_challenge_method: 'plain' } }, 'invalid_request'],
    ['no openid scope', { scope: DEMO }, 'invalid_scope'],
    ['an unknown scope', { scope: 'openid api://demo-api/Nope' }, 'invalid_scope'],
    ['an implicit response type', { extra: { response_type: 'token' } }, 'unsupported_response_type'],
    ['an unknown prompt', { prompt: 'maybe' }, 'invalid_request'],
  ])('%s is sent back to the app with the state', async (_name, overrides, error) => {
    const params = { clientId: 'web', redirectUri: REDIRECT, challenge: pkce().challenge, state: 'st-9', ...overrides };
    const response = await get(authorizeUrl(idp.issuer, params));
    expect(response.status).toBe(302);
    const location = new URL(response.headers.get('location')!);
    expect(`${location.origin}${location.pathname}`).toBe(REDIRECT);
    expect(location.searchParams.get('error')).toBe(error);
    expect(location.searchParams.get('error_description')).toMatch(/^AADSTS\d+/);
    expect(location.searchParams.get('state')).toBe('st-9');
  });

  test('the login page is a real form with the hint prefilled and one submit button', async () => {
    const response = await get(authorizeUrl(idp.issuer, { clientId: 'web', redirectUri: REDIRECT, challenge: pkce().challenge, loginHint: 'grace@contoso.dev' }));
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/html/);
    expect(response.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    const html = await response.text();
    expect(html).toContain('name="username"');
    expect(html).toContain('value="grace@contoso.dev"');
    expect(html).toContain('name="password"');
    expect(html.match(/<button type="submit"/g)).toHaveLength(1);
    expect(html).toMatch(/<button name="cancel"/);
    expect(html).toContain('ada@contoso.dev');
    expect(transactionOf(html)).toMatch(/^[A-Za-z0-9_-]{20,}$/);
  });

  test('Cancel returns access_denied with the state', async () => {
    const page = await get(authorizeUrl(idp.issuer, { clientId: 'web', redirectUri: REDIRECT, challenge: pkce().challenge, state: 'cancel-me' }));
    const answer = await postForm(`${idp.issuer}/authorize/login`, { transaction: transactionOf(await page.text()), username: '', password: '', cancel: '1' });
    expect(answer.status).toBe(302);
    const location = new URL(answer.headers.get('location')!);
    expect(location.searchParams.get('error')).toBe('access_denied');
    expect(location.searchParams.get('state')).toBe('cancel-me');
    expect(location.searchParams.get('code')).toBeNull();
  });

  test('a wrong password shows the page again and the transaction still works', async () => {
    const page = await get(authorizeUrl(idp.issuer, { clientId: 'web', redirectUri: REDIRECT, challenge: pkce().challenge }));
    const transaction = transactionOf(await page.text());
    const wrong = await postForm(`${idp.issuer}/authorize/login`, { transaction, username: 'ada@contoso.dev', password: 'nope' });
    expect(wrong.status).toBe(200);
    const html = await wrong.text();
    expect(html).toContain('role="alert"');
    expect(html).not.toContain('nope');
    const right = await postForm(`${idp.issuer}/authorize/login`, { transaction, username: 'ADA@contoso.dev', password: 'password' });
    expect(right.status).toBe(302);
    // The transaction is single-use.
    const again = await postForm(`${idp.issuer}/authorize/login`, { transaction, username: 'ada@contoso.dev', password: 'password' });
    expect(again.status).toBe(400);
  });

  test('form_post answers an auto-submitting form to the redirect URI', async () => {
    const p = pkce();
    const page = await get(authorizeUrl(idp.issuer, { clientId: 'web', redirectUri: REDIRECT, challenge: p.challenge, responseMode: 'form_post', state: 'fp-state' }));
    const answer = await postForm(`${idp.issuer}/authorize/login`, { transaction: transactionOf(await page.text()), username: 'grace@contoso.dev', password: 'password' });
    expect(answer.status).toBe(200);
    const html = await answer.text();
    expect(html).toContain(`<form method="post" action="${REDIRECT}">`);
    expect(html).toContain('name="state" value="fp-state"');
    expect(html).toMatch(/<noscript>.*<button type="submit">/s);
    const nonce = /script-src 'nonce-([^']+)'/.exec(answer.headers.get('content-security-policy') ?? '')?.[1];
    expect(html).toContain(`<script nonce="${nonce}">document.forms[0].submit();</script>`);
    const code = /name="code" value="([^"]+)"/.exec(html)![1]!;
    const tokens = await redeemWithSecret(code, p.verifier);
    expect(tokens.status).toBe(200);
    expect(decodeJwt(tokens.body.id_token as string).name).toBe('Grace Hopper');
  });

  test('a remembered session skips the page unless prompt=login; prompt=none without one is login_required', async () => {
    const first = await codeFor();
    expect(first.cookie).toMatch(/^devidp_session=/);
    const params = { clientId: 'web', redirectUri: REDIRECT, challenge: pkce().challenge, state: 's2' };

    const silent = await get(authorizeUrl(idp.issuer, { ...params, prompt: 'none' }), first.cookie);
    expect(silent.status).toBe(302);
    expect(new URL(silent.headers.get('location')!).searchParams.get('code')).toEqual(expect.any(String));

    const noPrompt = await get(authorizeUrl(idp.issuer, params), first.cookie);
    expect(noPrompt.status).toBe(302);

    const forced = await get(authorizeUrl(idp.issuer, { ...params, prompt: 'login' }), first.cookie);
    expect(forced.status).toBe(200);

    const anonymous = await get(authorizeUrl(idp.issuer, { ...params, prompt: 'none' }));
    const location = new URL(anonymous.headers.get('location')!);
    expect(location.searchParams.get('error')).toBe('login_required');
    expect(location.searchParams.get('state')).toBe('s2');
  });
});

describe('authorization code redemption', () => {
  test('the code buys an ID token, an access token for the API, a refresh token and client_info', async () => {
    const { code, verifier, state } = await codeFor(undefined, { nonce: 'nonce-42' });
    expect(state).toBe('state-1');
    const { status, body } = await redeemWithSecret(code, verifier);
    expect(status).toBe(200);
    expect(body).toMatchObject({ token_type: 'Bearer', scope: DEMO, expires_in: 3600, ext_expires_in: 3600 });
    expect(body.refresh_token).toEqual(expect.any(String));

    const idToken = await verifyWithJwks(body.id_token as string, { audience: 'web' });
    expect(idToken).toMatchObject({ nonce: 'nonce-42', name: 'Ada Lovelace', preferred_username: 'ada@contoso.dev', email: 'ada@contoso.dev', ver: '2.0' });
    expect(idToken.oid).toEqual(expect.any(String));
    expect(idToken.tid).toEqual(expect.any(String));
    expect(idToken.nbf).toBeLessThanOrEqual(idToken.iat!);
    expect(decodeProtectedHeader(body.id_token as string)).toMatchObject({ alg: 'RS256', kid: expect.any(String) });

    const access = await verifyWithJwks(body.access_token as string, { audience: 'api://demo-api' });
    expect(access).toMatchObject({ scp: 'Data.Read', azp: 'web', sub: idToken.sub, oid: idToken.oid, tid: idToken.tid, name: 'Ada Lovelace' });

    const clientInfo = JSON.parse(Buffer.from(body.client_info as string, 'base64url').toString()) as unknown;
    expect(clientInfo).toEqual({ uid: idToken.oid, utid: idToken.tid });
    expect(idp.stats.grants.authorization_code).toBe(1);
  });

  test('a sign-in without API scopes gets an access token for the app itself', async () => {
    const { code, verifier } = await codeFor('openid profile');
    const { body } = await redeemWithSecret(code, verifier);
    expect(decodeJwt(body.access_token as string).aud).toBe('web');
    expect(body.refresh_token).toBeUndefined();
    const info = await fetch(`${idp.issuer}/userinfo`, { headers: { authorization: `Bearer ${body.access_token as string}` } });
    expect(await info.json()).toMatchObject({ name: 'Ada Lovelace', preferred_username: 'ada@contoso.dev' });
  });

  test('a second redemption is refused with AADSTS54005', async () => {
    const { code, verifier } = await codeFor();
    expect((await redeemWithSecret(code, verifier)).status).toBe(200);
    const second = await redeemWithSecret(code, verifier);
    expect(second.status).toBe(400);
    expect(second.body.error).toBe('invalid_grant');
    expect(second.body.error_description).toContain('AADSTS54005: OAuth2 Authorization code was already redeemed');
    expect(second.body.error_codes).toEqual([54005]);
  });

  test('a wrong verifier, a wrong redirect URI or another client is refused', async () => {
    const { code, verifier } = await codeFor();
    const wrongVerifier = await redeemWithSecret(code, pkce().verifier);
    expect(wrongVerifier.status).toBe(400);
    expect(wrongVerifier.body.error_description).toContain('AADSTS50148');
    const noVerifier = await redeem(idp.issuer, { grant_type: 'authorization_code', client_id: 'web', client_secret: SECRET, code, redirect_uri: REDIRECT });
    expect(noVerifier.body.error).toBe('invalid_grant');
    const otherRedirect = await redeem(idp.issuer, { grant_type: 'authorization_code', client_id: 'web', client_secret: SECRET, code, code_verifier: verifier, redirect_uri: 'http://localhost:7071/other' });
    expect(otherRedirect.body.error).toBe('invalid_grant');
    const unknown = await redeemWithSecret('not-a-code', verifier);
    expect(unknown.body.error).toBe('invalid_grant');
  });

  test('a wrong or missing client secret is invalid_client (401, AADSTS7000215)', async () => {
    const { code, verifier } = await codeFor();
    const wrong = await redeem(idp.issuer, { grant_type: 'authorization_code', client_id: 'web', client_secret: 'nope', code, code_verifier: verifier, redirect_uri: REDIRECT });
    expect(wrong.status).toBe(401);
    expect(wrong.body).toMatchObject({ error: 'invalid_client', error_description: 'AADSTS7000215: Invalid client secret provided.', error_codes: [7000215] });
    const none = await redeem(idp.issuer, { grant_type: 'authorization_code', client_id: 'web', code, code_verifier: verifier, redirect_uri: REDIRECT });
    expect(none.status).toBe(401);
    // The failed attempts did not consume the code.
    expect((await redeemWithSecret(code, verifier)).status).toBe(200);
  });
});

describe('refresh', () => {
  test('client_secret_basic refresh for another API rotates the refresh token and keeps the old one valid', async () => {
    const { code, verifier } = await codeFor();
    const first = await redeemWithSecret(code, verifier);
    const basic = `Basic ${Buffer.from(`web:${SECRET}`).toString('base64')}`;
    const refreshed = await redeem(idp.issuer, { grant_type: 'refresh_token', refresh_token: first.body.refresh_token as string, scope: `openid profile offline_access ${OTHER}` }, { authorization: basic });
    expect(refreshed.status).toBe(200);
    expect(refreshed.body.scope).toBe(OTHER);
    expect(refreshed.body.refresh_token).not.toBe(first.body.refresh_token);
    expect(decodeJwt(refreshed.body.id_token as string).nonce).toBeUndefined();
    const access = await verifyWithJwks(refreshed.body.access_token as string, { audience: 'api://other-api' });
    expect(access.scp).toBe('Other.Read');

    const again = await redeem(idp.issuer, { grant_type: 'refresh_token', client_id: 'web', client_secret: SECRET, refresh_token: first.body.refresh_token as string, scope: DEMO });
    expect(again.status).toBe(200);
    expect(decodeJwt(again.body.access_token as string).aud).toBe('api://demo-api');
    expect(idp.stats.grants.refresh_token).toBe(2);
  });

  test('two resources at once are refused (AADSTS28000), as Entra does', async () => {
    const { code, verifier } = await codeFor();
    const { body } = await redeemWithSecret(code, verifier);
    const both = await redeem(idp.issuer, { grant_type: 'refresh_token', client_id: 'web', client_secret: SECRET, refresh_token: body.refresh_token as string, scope: `${DEMO} ${OTHER}` });
    expect(both.status).toBe(400);
    expect(both.body).toMatchObject({ error: 'invalid_scope' });
    expect(both.body.error_description).toContain('AADSTS28000');
  });

  test('with consent required, a scope never granted is consent_required; a granted one refreshes', async () => {
    const { code, verifier } = await codeFor(undefined, { provider: consentIdp });
    const { body } = await redeemWithSecret(code, verifier, consentIdp);
    const refresh = (scope: string) =>
      redeem(consentIdp.issuer, { grant_type: 'refresh_token', client_id: 'web', client_secret: SECRET, refresh_token: body.refresh_token as string, scope });
    const other = await refresh(`openid offline_access ${OTHER}`);
    expect(other.status).toBe(400);
    expect(other.body).toMatchObject({ error: 'invalid_grant', suberror: 'consent_required' });
    expect(other.body.error_description).toMatch(/^AADSTS65001: The user or administrator has not consented/);
    expect((await refresh(DEMO)).status).toBe(200);
    expect((await refresh('api://demo-api/.default')).body.scope).toBe(DEMO);
  });
});

describe('private_key_jwt, federated credentials and client credentials', () => {
  test('a certificate-signed assertion authenticates the client', async () => {
    const { code, verifier } = await codeFor(undefined, { clientId: 'cert-app' });
    const jwt = await assertion({ iss: 'cert-app', sub: 'cert-app', aud: `${idp.issuer}/token` });
    const { status, body } = await redeem(idp.issuer, {
      grant_type: 'authorization_code', client_id: 'cert-app', code, code_verifier: verifier, redirect_uri: REDIRECT,
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: jwt,
    });
    expect(status).toBe(200);
    expect(decodeJwt(body.id_token as string).aud).toBe('cert-app');
  });

  test.each([
    ['a foreign key', async () => assertion({ iss: 'cert-app', sub: 'cert-app', aud: `${idp.issuer}/token` }, { key: (await generateKeyPair('RS256')).privateKey }), 'AADSTS700027'],
    ['a wrong audience', () => assertion({ iss: 'cert-app', sub: 'cert-app', aud: 'https://login.example/token' }), 'AADSTS700027'],
    ['a wrong thumbprint', () => assertion({ iss: 'cert-app', sub: 'cert-app', aud: idp.issuer }, { header: { 'x5t#S256': 'AAAA' } }), 'AADSTS700027'],
    ['an expired assertion', () => new SignJWT({ iss: 'cert-app', sub: 'cert-app', aud: idp.issuer }).setProtectedHeader({ alg: 'RS256' }).setIssuedAt(1_000_000).setExpirationTime(1_000_600).sign(clientKey), 'AADSTS700024'],
  ])('an assertion with %s is invalid_client', async (_name, make, code) => {
    const response = await redeem(idp.issuer, {
      grant_type: 'client_credentials', client_id: 'cert-app', scope: 'api://demo-api/.default',
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: await make(),
    });
    expect(response.status).toBe(401);
    expect(response.body.error).toBe('invalid_client');
    expect(response.body.error_description).toContain(code);
  });

  test('client credentials give an app token with roles and no user', async () => {
    const jwt = await assertion({ iss: 'cert-app', sub: 'cert-app', aud: idp.issuer });
    const { status, body } = await redeem(idp.issuer, {
      grant_type: 'client_credentials', client_id: 'cert-app', scope: 'api://demo-api/.default',
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: jwt,
    });
    expect(status).toBe(200);
    expect(body.refresh_token).toBeUndefined();
    expect(body.id_token).toBeUndefined();
    const token = await verifyWithJwks(body.access_token as string, { audience: 'api://demo-api' });
    expect(token).toMatchObject({ roles: ['Data.Read', 'Data.Write'], azp: 'cert-app', idtyp: 'app' });
    expect(token.scp).toBeUndefined();
    expect(token.name).toBeUndefined();

    const notDefault = await redeem(idp.issuer, { grant_type: 'client_credentials', client_id: 'web', client_secret: SECRET, scope: DEMO });
    expect(notDefault.body.error).toBe('invalid_scope');
    const unknownGrant = await redeem(idp.issuer, { grant_type: 'password', client_id: 'web', client_secret: SECRET });
    expect(unknownGrant).toMatchObject({ status: 400, body: { error: 'unsupported_grant_type' } });
  });

  test('a federated credential: a token of the trusted workload issuer stands in for a secret', async () => {
    const workloadToken = (subject: string) =>
      new SignJWT({}).setProtectedHeader({ alg: 'RS256', kid: 'mi-key' }).setIssuer(WORKLOAD_ISSUER).setSubject(subject)
        .setAudience('api://AzureADTokenExchange').setIssuedAt().setExpirationTime('5m').sign(workload.privateKey);
    const request = async (subject: string) => redeem(idp.issuer, {
      grant_type: 'client_credentials', client_id: 'fic-app', scope: 'api://other-api/.default',
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: await workloadToken(subject),
    });
    const ok = await request('mi-object-id');
    expect(ok.status).toBe(200);
    expect(decodeJwt(ok.body.access_token as string)).toMatchObject({ aud: 'api://other-api', azp: 'fic-app', roles: ['Other.Read'] });
    const stranger = await request('someone-else');
    expect(stranger.status).toBe(401);
    expect(stranger.body.error_description).toContain('AADSTS70021');
  });
});

describe('controls', () => {
  async function idTokenAfter(override: Parameters<DevIdentityProvider['controls']['nextIdToken']>[0]): Promise<string> {
    const { code, verifier } = await codeFor();
    idp.controls.nextIdToken(override);
    return (await redeemWithSecret(code, verifier)).body.id_token as string;
  }

  test('nextIdToken spoils exactly the next ID token', async () => {
    const expired = await idTokenAfter({ expired: true });
    await expect(verifyWithJwks(expired, { audience: 'web' })).rejects.toMatchObject({ code: 'ERR_JWT_EXPIRED' });
    const wrongIssuer = await idTokenAfter({ issuer: 'https://elsewhere.example' });
    await expect(verifyWithJwks(wrongIssuer, { audience: 'web' })).rejects.toMatchObject({ claim: 'iss' });
    const wrongAudience = await idTokenAfter({ audience: 'someone-else' });
    await expect(verifyWithJwks(wrongAudience, { audience: 'web' })).rejects.toMatchObject({ claim: 'aud' });
    expect(decodeJwt(await idTokenAfter({ nonce: null })).nonce).toBeUndefined();
    expect(decodeJwt(await idTokenAfter({ nonce: 'other' })).nonce).toBe('other');
    const unsigned = await idTokenAfter({ alg: 'none' });
    expect(decodeProtectedHeader(unsigned).alg).toBe('none');
    expect(unsigned.endsWith('.')).toBe(true);
    const forged = await idTokenAfter({ signWithForeignKey: true });
    await expect(verifyWithJwks(forged, { audience: 'web' })).rejects.toMatchObject({ code: 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED' });
    // Only the next one.
    const normal = await idTokenAfter({});
    await expect(verifyWithJwks(normal, { audience: 'web' })).resolves.toMatchObject({ nonce: 'n-1' });
  });

  test('failTokenEndpoint answers the status N times, then recovers', async () => {
    const { code, verifier } = await codeFor();
    idp.controls.failTokenEndpoint(503, 2);
    expect((await redeemWithSecret(code, verifier)).status).toBe(503);
    const second = await redeemWithSecret(code, verifier);
    expect(second).toMatchObject({ status: 503, body: { error: 'temporarily_unavailable' } });
    expect((await redeemWithSecret(code, verifier)).status).toBe(200);
    expect(idp.stats.requests.token).toBe(3);
    expect(idp.stats.grants.authorization_code).toBe(3);
  });

  test('revokeRefreshTokens makes refreshes fail with AADSTS700082', async () => {
    const { code, verifier } = await codeFor();
    const { body } = await redeemWithSecret(code, verifier);
    const ada = decodeJwt(body.id_token as string).sub!;
    idp.controls.revokeRefreshTokens('someone-else');
    const still = await redeem(idp.issuer, { grant_type: 'refresh_token', client_id: 'web', client_secret: SECRET, refresh_token: body.refresh_token as string });
    expect(still.status).toBe(200);
    idp.controls.revokeRefreshTokens(ada);
    const revoked = await redeem(idp.issuer, { grant_type: 'refresh_token', client_id: 'web', client_secret: SECRET, refresh_token: body.refresh_token as string });
    expect(revoked.status).toBe(400);
    expect(revoked.body.error).toBe('invalid_grant');
    expect(revoked.body.error_description).toContain('AADSTS700082');
  });

  test('rotateSigningKey signs new tokens with a new published key', async () => {
    const before = decodeProtectedHeader(await idTokenAfter({})).kid;
    await idp.controls.rotateSigningKey();
    const after = await idTokenAfter({});
    expect(decodeProtectedHeader(after).kid).not.toBe(before);
    await expect(verifyWithJwks(after, { audience: 'web' })).resolves.toBeDefined();
    const jwks = (await (await fetch(`${idp.issuer}/jwks`)).json()) as { keys: { kid: string }[] };
    expect(jwks.keys.map((key) => key.kid)).toContain(before);
  });

  test('clientSecret swaps the accepted secret', async () => {
    const { code, verifier } = await codeFor();
    idp.controls.clientSecret('web', 'rotated');
    try {
      expect((await redeemWithSecret(code, verifier)).body.error_description).toBe('AADSTS7000215: Invalid client secret provided.');
      const ok = await redeem(idp.issuer, { grant_type: 'authorization_code', client_id: 'web', client_secret: 'rotated', code, code_verifier: verifier, redirect_uri: REDIRECT });
      expect(ok.status).toBe(200);
    } finally {
      idp.controls.clientSecret('web', SECRET);
    }
  });
});

describe('the consent screen', () => {
  async function loginPage(provider: DevIdentityProvider, scope: string, prompt?: string) {
    const page = await get(authorizeUrl(provider.browserOrigin, { clientId: 'web', redirectUri: REDIRECT, scope, challenge: pkce().challenge, nonce: 'n', state: 's-1', prompt }));
    expect(page.status).toBe(200);
    return postForm(`${provider.browserOrigin}/authorize/login`, { transaction: transactionOf(await page.text()), username: 'grace@contoso.dev', password: 'password' });
  }

  test('with consent required, the browser pages on http://localhost list every scope asked for, for whom, with Accept and Cancel', async () => {
    expect(consentIdp.browserOrigin).toMatch(/^http:\/\/localhost:\d+$/);
    const answer = await loginPage(consentIdp, `openid profile offline_access ${OTHER}`);
    expect(answer.status).toBe(200);
    const html = await answer.text();
    expect(html).toContain('<h1>Permissions requested</h1>');
    expect(html).toContain('Grace Hopper');
    for (const scope of ['openid', 'profile', 'offline_access', OTHER]) expect(html).toContain(`<code>${scope}</code>`);
    expect(html).toMatch(/<button type="submit" name="accept" value="1">Accept<\/button>/);
    expect(html).toMatch(/<button type="submit" name="cancel" value="1" class="secondary">Cancel<\/button>/);
  });

  test('Accept answers with a code and remembers the grant; Cancel answers access_denied with the state', async () => {
    const accept = await loginPage(consentIdp, `openid ${OTHER}`);
    const cookie = cookieOf(accept)!;
    const granted = await postForm(`${consentIdp.browserOrigin}/authorize/consent`, { transaction: transactionOf(await accept.text()), accept: '1' }, { cookie });
    expect(granted.status).toBe(302);
    expect(new URL(granted.headers.get('location')!).searchParams.get('code')).toBeTruthy();
    // Granted once: the same scopes again go straight through with the provider session.
    const again = await get(authorizeUrl(consentIdp.browserOrigin, { clientId: 'web', redirectUri: REDIRECT, scope: `openid ${OTHER}`, challenge: pkce().challenge, nonce: 'n' }), cookie);
    expect(again.status).toBe(302);

    const cancel = await loginPage(consentIdp, 'openid api://demo-api/Data.Write');
    const refused = await postForm(`${consentIdp.browserOrigin}/authorize/consent`, { transaction: transactionOf(await cancel.text()), cancel: '1' }, { cookie: cookieOf(cancel)! });
    expect(refused.status).toBe(302);
    const location = new URL(refused.headers.get('location')!);
    expect(location.searchParams.get('error')).toBe('access_denied');
    expect(location.searchParams.get('state')).toBe('s-1');
    expect(location.searchParams.get('code')).toBeNull();
  });

  test('a consent answered from another browser (no provider session cookie) is refused', async () => {
    const answer = await loginPage(consentIdp, `openid ${DEMO} api://demo-api/Data.Write`);
    const response = await postForm(`${consentIdp.browserOrigin}/authorize/consent`, { transaction: transactionOf(await answer.text()), accept: '1' });
    expect(response.status).toBe(400);
  });

  test('prompt=consent shows the screen even when consent is not otherwise required', async () => {
    const answer = await loginPage(idp, `openid ${DEMO}`, 'consent');
    expect(await answer.text()).toContain('Permissions requested');
  });

  test('the http origin serves the pages only: no token, keys or discovery in clear', async () => {
    for (const path of ['/token', '/jwks', '/.well-known/openid-configuration', '/userinfo']) {
      expect((await fetch(`${idp.browserOrigin}${path}`)).status).toBe(404);
    }
  });
});

describe('/logout', () => {
  test('ends the session and returns to a registered post-logout URI with the state', async () => {
    const { cookie, code, verifier } = await codeFor();
    const { body } = await redeemWithSecret(code, verifier);
    const url = new URL(`${idp.issuer}/logout`);
    url.searchParams.set('id_token_hint', body.id_token as string);
    url.searchParams.set('post_logout_redirect_uri', POST_LOGOUT);
    url.searchParams.set('state', 'bye');
    const response = await get(url.toString(), cookie);
    expect(response.status).toBe(302);
    expect(response.headers.get('location')).toBe(`${POST_LOGOUT}?state=bye`);
    expect(response.headers.getSetCookie()[0]).toMatch(/^devidp_session=;.*Max-Age=0/);

    // The old cookie no longer signs anyone in.
    const silent = await get(authorizeUrl(idp.issuer, { clientId: 'web', redirectUri: REDIRECT, challenge: pkce().challenge, prompt: 'none' }), cookie);
    expect(new URL(silent.headers.get('location')!).searchParams.get('error')).toBe('login_required');
  });

  test('an unregistered post-logout URI gets the signed-out page', async () => {
    const response = await postForm(`${idp.issuer}/logout`, { client_id: 'web', post_logout_redirect_uri: 'https://evil.example/' });
    expect(response.status).toBe(200);
    expect(response.headers.get('location')).toBeNull();
    expect(await response.text()).toContain('signed out');
    expect(cookieOf(response)).toBe('devidp_session=');
  });
});
