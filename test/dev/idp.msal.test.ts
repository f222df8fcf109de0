/** MSAL Node in OIDC protocol mode against the dev provider: the app's real client must accept it. */
import { createHash, createPrivateKey, X509Certificate } from 'node:crypto';
import { ConfidentialClientApplication, LogLevel, ProtocolMode, type Configuration } from '@azure/msal-node';
import { startDevIdentityProvider, type DevIdentityProvider } from '../../dev/idp';
import { createDevCertificates, trustCertificateAuthority } from '../../dev/tls';
import { get, pkce, postForm, transactionOf } from './idpFlow';

const REDIRECT = 'http://localhost:7071/api/redirect';
const DEMO = 'api://demo-api/Data.Read';
const OTHER = 'api://other-api/Other.Read';
const material = createDevCertificates();
const clientCert = createDevCertificates();

let idp: DevIdentityProvider;

function msalConfig(auth: Partial<Configuration['auth']>): Configuration {
  const host = new URL(idp.issuer).host;
  return {
    auth: { clientId: 'web', authority: idp.issuer, knownAuthorities: [host], ...auth },
    system: { protocolMode: ProtocolMode.OIDC, loggerOptions: { logLevel: LogLevel.Error, piiLoggingEnabled: false, loggerCallback: () => undefined } },
  };
}

beforeAll(async () => {
  trustCertificateAuthority(material.caCertPem);
  idp = await startDevIdentityProvider({
    tls: { certPem: material.certPem, keyPem: material.keyPem },
    clients: [
      { clientId: 'web', clientSecret: 'msal-secret', redirectUris: [REDIRECT] },
      { clientId: 'cert-app', certificatePem: clientCert.certPem, redirectUris: [REDIRECT] },
    ],
    apis: [
      { audience: 'api://demo-api', scopes: [DEMO] },
      { audience: 'api://other-api', scopes: [OTHER] },
    ],
  });
});

afterAll(async () => {
  await idp?.close();
});

test('sign-in by code, a silent hit from the cache, then a refresh for a second API', async () => {
  const msal = new ConfidentialClientApplication(msalConfig({ clientSecret: 'msal-secret' }));
  const p = pkce();
  const url = await msal.getAuthCodeUrl({
    scopes: [DEMO],
    redirectUri: REDIRECT,
    codeChallenge: p.challenge,
    codeChallengeMethod: 'S256',
    state: 'msal-state',
    nonce: 'msal-nonce',
    responseMode: 'form_post',
  });
  // The authorize page is on the provider's http://localhost origin (no certificate warning in a browser).
  expect(url.startsWith(`${idp.browserOrigin}/authorize?`)).toBe(true);

  const page = await get(url);
  expect(page.status).toBe(200);
  const answer = await postForm(`${idp.issuer}/authorize/login`, { transaction: transactionOf(await page.text()), username: 'grace@contoso.dev', password: 'password' });
  const code = /name="code" value="([^"]+)"/.exec(await answer.text())![1]!;

  // The confidential client takes the expected nonce from the request, not from the payload.
  const request = { code, scopes: [DEMO], redirectUri: REDIRECT, codeVerifier: p.verifier, state: 'msal-state', nonce: 'msal-nonce' };
  const result = await msal.acquireTokenByCode(request, { code, state: 'msal-state' });
  const claims = result.idTokenClaims as Record<string, unknown>;
  expect(claims).toMatchObject({ name: 'Grace Hopper', nonce: 'msal-nonce' });
  expect(result.account?.homeAccountId).toBe(`${String(claims.oid)}.${String(claims.tid)}`);
  expect(result.scopes).toContain(DEMO);
  const tokenRequests = idp.stats.requests.token;

  const silent = await msal.acquireTokenSilent({ account: result.account!, scopes: [DEMO] });
  expect(silent.accessToken).toBe(result.accessToken);
  expect(idp.stats.requests.token).toBe(tokenRequests);

  const other = await msal.acquireTokenSilent({ account: result.account!, scopes: [OTHER] });
  expect(other.accessToken).not.toBe(result.accessToken);
  expect(idp.stats.grants.refresh_token).toBe(1);
  const again = await msal.acquireTokenSilent({ account: result.account!, scopes: [OTHER] });
  expect(again.accessToken).toBe(other.accessToken);
  expect(idp.stats.grants.refresh_token).toBe(1);
});

test('a certificate credential (private_key_jwt, PS256 with x5t#S256) buys an app token', async () => {
  const thumbprintSha256 = createHash('sha256').update(new X509Certificate(clientCert.certPem).raw).digest('hex');
  const privateKey = createPrivateKey(clientCert.keyPem).export({ type: 'pkcs8', format: 'pem' }).toString();
  const msal = new ConfidentialClientApplication(msalConfig({ clientId: 'cert-app', clientCertificate: { thumbprintSha256, privateKey } }));
  const result = await msal.acquireTokenByClientCredential({ scopes: ['api://demo-api/.default'] });
  expect(result?.accessToken).toEqual(expect.any(String));
  expect(idp.stats.grants.client_credentials).toBe(1);
});

test('a wrong secret surfaces as invalid_client with the Entra error code', async () => {
  const msal = new ConfidentialClientApplication(msalConfig({ clientSecret: 'wrong' }));
  await expect(msal.acquireTokenByClientCredential({ scopes: ['api://demo-api/.default'] })).rejects.toMatchObject({
    errorCode: 'invalid_client',
    errorMessage: expect.stringContaining('AADSTS7000215'),
  });
});
