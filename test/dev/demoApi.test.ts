import { request } from 'node:https';
import { SignJWT, generateKeyPair } from 'jose';
import { startDemoApi, type DemoApi } from '../../dev/demoApi';
import { startDevIdentityProvider, type DevIdentityProvider } from '../../dev/idp';
import { createDevCertificates, trustCertificateAuthority } from '../../dev/tls';
import { pkce, redeem, signIn } from './idpFlow';

const REDIRECT = 'http://localhost:7071/api/redirect';
const material = createDevCertificates();
const tls = { certPem: material.certPem, keyPem: material.keyPem };

let idp: DevIdentityProvider;
let api: DemoApi;

async function userToken(scope: string): Promise<string> {
  const p = pkce();
  const { code } = await signIn(idp.issuer, { clientId: 'web', redirectUri: REDIRECT, scope: `openid offline_access ${scope}`, challenge: p.challenge });
  const { body } = await redeem(idp.issuer, { grant_type: 'authorization_code', client_id: 'web', client_secret: 's', code, code_verifier: p.verifier, redirect_uri: REDIRECT });
  return body.access_token as string;
}

function call(path: string, token?: string, init: RequestInit = {}): Promise<Response> {
  return fetch(`${api.url}${path}`, { ...init, headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(init.headers as Record<string, string>) } });
}

beforeAll(async () => {
  trustCertificateAuthority(material.caCertPem);
  idp = await startDevIdentityProvider({
    tls,
    clients: [{ clientId: 'web', clientSecret: 's', redirectUris: [REDIRECT] }],
    apis: [
      { audience: 'api://demo-api', scopes: ['api://demo-api/Data.Read', 'api://demo-api/Data.Write'] },
      { audience: 'api://other-api', scopes: ['api://other-api/Other.Read'] },
    ],
  });
  api = await startDemoApi({ tls, issuer: idp.issuer, audience: 'api://demo-api', requiredScope: 'Data.Read' });
});

afterAll(async () => {
  await Promise.all([api?.close(), idp?.close()]);
});

describe('demo API', () => {
  let token: string;
  beforeAll(async () => {
    token = await userToken('api://demo-api/Data.Read');
  });

  test('GET /profile answers from the token claims', async () => {
    const response = await call('/profile', token);
    expect(response.status).toBe(200);
    const body = (await response.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ user: { name: 'Ada Lovelace', oid: expect.any(String) }, scopes: ['Data.Read'] });
    expect(body.message).toContain('Ada Lovelace');
    expect(Date.parse(body.issuedAt as string)).toBeGreaterThan(Date.now() - 60_000);
  });

  test('a missing, foreign, wrong-audience or scope-less token is 401 invalid_token', async () => {
    const { privateKey } = await generateKeyPair('RS256');
    const foreign = await new SignJWT({ scp: 'Data.Read', sub: 'x' })
      .setProtectedHeader({ alg: 'RS256', kid: 'whatever' })
      .setIssuer(idp.issuer)
      .setAudience('api://demo-api')
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(privateKey);
    const otherAudience = await userToken('api://other-api/Other.Read');
    const noScope = await userToken('api://demo-api/Data.Write');
    for (const bad of [undefined, 'garbage', foreign, otherAudience, noScope]) {
      const response = await call('/profile', bad);
      expect(response.status).toBe(401);
      expect(response.headers.get('www-authenticate')).toMatch(/^Bearer .*error="invalid_token"/);
    }
  });

  test('/echo reports what it received, with the credential redacted', async () => {
    const before = api.stats.requests;
    const raw = await new Promise<{ status: number; body: Record<string, unknown> }>((resolve, reject) => {
      const req = request(`${api.url}/echo/a%2Fb/..%2Fc?x=1&x=2&y=%20z`, {
        method: 'PUT',
        path: '/echo/a%2Fb/..%2Fc?x=1&x=2&y=%20z',
        headers: { authorization: `Bearer ${token}`, cookie: 'secret=1', 'content-type': 'text/plain', 'x-custom': 'yes' },
      }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as Record<string, unknown> }));
      });
      req.on('error', reject);
      req.end('hello body');
    });
    expect(raw.status).toBe(200);
    expect(raw.body).toMatchObject({
      method: 'PUT',
      path: '/echo/a%2Fb/..%2Fc',
      query: { x: ['1', '2'], y: ' z' },
      cookie: true,
      body: 'hello body',
      headers: { authorization: 'Bearer <redacted>', cookie: true, 'x-custom': 'yes', 'content-type': 'text/plain' },
    });
    expect(JSON.stringify(raw.body)).not.toContain(token);
    expect(JSON.stringify(raw.body)).not.toContain('secret=1');
    expect(api.stats.requests).toBe(before + 1);
  });

  test('/set-cookie sets a cookie and /status/:code answers that status', async () => {
    const cookie = await call('/set-cookie', token);
    expect(cookie.status).toBe(200);
    expect(cookie.headers.getSetCookie()).toHaveLength(1);
    const teapot = await call('/status/418', token);
    expect(teapot.status).toBe(418);
    expect(await teapot.json()).toEqual({ status: 418 });
    expect((await call('/status/204', token)).status).toBe(204);
    expect((await call('/status/abc', token)).status).toBe(400);
    expect((await call('/nowhere', token)).status).toBe(404);
  });

  test('an app token with the role is accepted', async () => {
    const { body } = await redeem(idp.issuer, { grant_type: 'client_credentials', client_id: 'web', client_secret: 's', scope: 'api://demo-api/.default' });
    const response = await call('/profile', body.access_token as string);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ scopes: ['Data.Read', 'Data.Write'], user: { name: 'web' } });
  });

  // Last: it retires the key the tokens above were signed with.
  test('a token signed after a key rotation is accepted at once', async () => {
    await idp.controls.rotateSigningKey({ dropPrevious: true });
    const fresh = await userToken('api://demo-api/Data.Read');
    expect((await call('/profile', fresh)).status).toBe(200);
  });
});
