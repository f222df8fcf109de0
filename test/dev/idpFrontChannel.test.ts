import { startDevIdentityProvider, type DevIdentityProvider } from '../../dev/idp';
import { createDevCertificates, trustCertificateAuthority } from '../../dev/tls';
import { DEV_TENANT_ID } from '../../dev/idp/users';
import { get, pkce, signIn } from './idpFlow';

/** The dev provider's end-session page frames every app's front-channel logout URI, as Entra's does. */
const REDIRECT = 'http://localhost:7071/api/redirect';
const POST_LOGOUT = 'http://localhost:7071/';
const FRONT_CHANNEL = 'http://localhost:7071/api/logout/frontchannel';
const OTHER_APP = 'http://127.0.0.1:9999/signout-oidc';
const tlsMaterial = createDevCertificates();
let idp: DevIdentityProvider;

beforeAll(async () => {
  trustCertificateAuthority(tlsMaterial.caCertPem);
  idp = await startDevIdentityProvider({
    tls: { certPem: tlsMaterial.certPem, keyPem: tlsMaterial.keyPem },
    clients: [
      { clientId: 'web', clientSecret: 's', redirectUris: [REDIRECT], postLogoutRedirectUris: [POST_LOGOUT], frontchannelLogoutUri: FRONT_CHANNEL },
      { clientId: 'other', clientSecret: 's', redirectUris: [REDIRECT], frontchannelLogoutUri: OTHER_APP },
      { clientId: 'silent', clientSecret: 's', redirectUris: [REDIRECT] },
    ],
    apis: [],
  });
});
afterAll(() => idp?.close());

async function providerSession(): Promise<string> {
  const { cookie } = await signIn(idp.issuer, { clientId: 'web', redirectUri: REDIRECT, scope: 'openid', challenge: pkce().challenge, nonce: 'n' });
  return cookie!;
}

function framesOf(html: string): URL[] {
  return [...html.matchAll(/<iframe src="([^"]+)"/g)].map((m) => new URL(m[1]!.replaceAll('&#38;', '&')));
}

test('signing out of a provider session frames each registered front-channel URI with iss and sid, then goes on to the app', async () => {
  const cookie = await providerSession();
  const url = new URL(`${idp.issuer}/logout`);
  url.searchParams.set('client_id', 'web');
  url.searchParams.set('post_logout_redirect_uri', POST_LOGOUT);
  const page = await get(url.href, cookie);
  expect(page.status).toBe(200);
  const html = await page.text();
  const frames = framesOf(html);
  expect(frames.map((f) => f.origin + f.pathname).sort()).toEqual([FRONT_CHANNEL, OTHER_APP].sort());
  for (const frame of frames) {
    expect(frame.searchParams.get('iss')).toBe(idp.issuer);
    expect(frame.searchParams.get('sid')).toMatch(/.{8,}/);
  }
  expect(html).toContain(JSON.stringify(POST_LOGOUT));
  const csp = page.headers.get('content-security-policy')!;
  expect(csp).toContain('frame-src http://localhost:7071 http://127.0.0.1:9999;');
  expect(csp).toContain("frame-ancestors 'none'");
  // The provider session is over: a second sign-out has nobody to tell.
  const again = await get(url.href, cookie);
  expect(again.status).toBe(302);
  expect(again.headers.get('location')).toBe(POST_LOGOUT);
});

test("through Entra's path the frame carries sid alone, as Entra sends it", async () => {
  const cookie = await providerSession();
  const page = await get(`${new URL(idp.issuer).origin}/${DEV_TENANT_ID}/oauth2/v2.0/logout`, cookie);
  expect(page.status).toBe(200);
  const frames = framesOf(await page.text());
  expect(frames).toHaveLength(2);
  for (const frame of frames) {
    expect(frame.searchParams.has('iss')).toBe(false);
    expect(frame.searchParams.get('sid')).toMatch(/.{8,}/);
  }
});

test('without a provider session there is nothing to tell: straight back to the app', async () => {
  const response = await get(`${idp.issuer}/logout?client_id=web&post_logout_redirect_uri=${encodeURIComponent(POST_LOGOUT)}`);
  expect(response.status).toBe(302);
  expect(response.headers.get('location')).toBe(POST_LOGOUT);
});
