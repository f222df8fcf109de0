/** The dev provider's on-behalf-of grant, as Entra answers it: what it accepts and every refusal the app maps. */
import { SignJWT, decodeJwt, generateKeyPair, type JWTPayload } from 'jose';
import { DEFAULT_USERS, startDevIdentityProvider, type DevIdentityProvider } from '../../dev/idp';
import { createDevCertificates, trustCertificateAuthority } from '../../dev/tls';
import { redeem } from './idpFlow';

const material = createDevCertificates();
const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
const DEMO = 'api://demo-api/Data.Read';
const CA = 'api://ca-api/Data.Read';
const ada = DEFAULT_USERS[0]!;
let idp: DevIdentityProvider;

beforeAll(async () => {
  trustCertificateAuthority(material.caCertPem);
  idp = await startDevIdentityProvider({
    tls: { certPem: material.certPem, keyPem: material.keyPem },
    clients: [
      { clientId: 'middle', clientSecret: 'middle-secret', redirectUris: [] },
      { clientId: 'other', clientSecret: 'other-secret', redirectUris: [] },
    ],
    apis: [
      { audience: 'api://middle', scopes: ['api://middle/access_as_user'], clientId: 'middle' },
      { audience: 'api://demo-api', scopes: [DEMO] },
      { audience: 'api://ca-api', scopes: [CA], requiredAuthContext: 'c1' },
    ],
  });
});
afterAll(async () => {
  await idp?.close();
});

function assertionClaims(overrides: JWTPayload = {}): JWTPayload {
  const now = Math.floor(Date.now() / 1000);
  return { iss: idp.issuer, aud: 'api://middle', sub: ada.sub, oid: ada.oid, tid: ada.tid, scp: 'access_as_user', azp: 'spa', iat: now, nbf: now, exp: now + 600, ...overrides };
}

function signed(claims: JWTPayload): Promise<string> {
  return idp.controls.signLogoutToken(claims, { typ: 'JWT' });
}

function exchange(assertion: string, fields: Record<string, string> = {}, client = { id: 'middle', secret: 'middle-secret' }) {
  return redeem(idp.issuer, { grant_type: JWT_BEARER, requested_token_use: 'on_behalf_of', assertion, scope: `${DEMO} openid profile offline_access`, client_id: client.id, client_secret: client.secret, ...fields });
}

test('a user token issued to the client becomes a token for the downstream API for the same user (oid, tid), asked for by the client', async () => {
  for (const aud of ['api://middle', 'middle']) {
    const before = idp.stats.grants.on_behalf_of;
    const answer = await exchange(await signed(assertionClaims({ aud })));
    expect(answer.status).toBe(200);
    expect(idp.stats.grants.on_behalf_of - before).toBe(1);
    const token = decodeJwt(answer.body['access_token'] as string);
    expect(token).toMatchObject({ aud: 'api://demo-api', scp: 'Data.Read', oid: ada.oid, tid: ada.tid, sub: ada.sub, azp: 'middle', iss: idp.issuer });
    expect(answer.body).toMatchObject({ token_type: 'Bearer', scope: DEMO, refresh_token: expect.any(String) });
  }
});

test.each([
  ['the assertion is for another audience', () => signed(assertionClaims({ aud: 'api://demo-api' })), /AADSTS50013: Assertion audience/],
  ['the assertion is signed by a stranger', async () => {
    const { privateKey } = await generateKeyPair('RS256');
    return new SignJWT(assertionClaims()).setProtectedHeader({ alg: 'RS256', kid: decodeProtectedKid(await signed(assertionClaims())) }).sign(privateKey);
  }, /AADSTS50013: Assertion failed signature validation/],
  ['the assertion has expired', () => signed(assertionClaims({ exp: Math.floor(Date.now() / 1000) - 120 })), /AADSTS500133/],
  ['the assertion comes from another issuer', () => signed(assertionClaims({ iss: 'https://elsewhere.example' })), /AADSTS50013/],
  ['the assertion is an app-only token', () => signed(assertionClaims({ scp: undefined, roles: ['access_as_user'] })), /app-only/],
])('invalid_grant when %s', async (_, make, description) => {
  const answer = await exchange(await make());
  expect(answer.status).toBe(400);
  expect(answer.body).toMatchObject({ error: 'invalid_grant', error_description: expect.stringMatching(description) });
});

function decodeProtectedKid(token: string): string {
  return (JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString()) as { kid: string }).kid;
}

test('another client cannot present the middle tier\'s token', async () => {
  const answer = await exchange(await signed(assertionClaims()), {}, { id: 'other', secret: 'other-secret' });
  expect(answer.body).toMatchObject({ error: 'invalid_grant', error_description: expect.stringMatching(/AADSTS50013: Assertion audience/) });
});

test('requested_token_use and assertion are required', async () => {
  const token = await signed(assertionClaims());
  expect((await exchange(token, { requested_token_use: 'other' })).body).toMatchObject({ error: 'invalid_request' });
  expect((await exchange('', {})).body).toMatchObject({ error: 'invalid_request' });
});

test('an API behind Conditional Access: interaction_required with the claims to ask for, until the assertion carries the context', async () => {
  const refused = await exchange(await signed(assertionClaims()), { scope: CA });
  expect(refused.status).toBe(400);
  expect(refused.body).toMatchObject({ error: 'interaction_required', claims: JSON.stringify({ access_token: { acrs: { essential: true, value: 'c1' } } }) });
  const granted = await exchange(await signed(assertionClaims({ acrs: ['c1'] })), { scope: CA });
  expect(granted.status).toBe(200);
  expect(decodeJwt(granted.body['access_token'] as string)).toMatchObject({ aud: 'api://ca-api', acrs: ['c1'] });
});
