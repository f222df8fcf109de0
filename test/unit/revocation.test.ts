import { X509Certificate, createHash, createPublicKey } from 'node:crypto';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage } from 'node:http';
import { decodeProtectedHeader, jwtVerify } from 'jose';
import { listenOnLoopback } from '../../dev/listen';
import { refreshTokensIn, revokeRefreshTokens } from '../../shared/auth/revocation';
import type { Provider, ProviderMetadata } from '../../shared/auth/discovery';
import type { MsalClientCredential } from '../../shared/credentials/clientCredential';
import { createClientCertificate } from '../support/clientCertificates';
import { UNIT_APP, startUnitProvider, type UnitProvider } from '../support/authRuntime';
import { closeServer } from '../support/problems';

/**
 * RFC 7009 at sign-out: what is sent to a provider's revocation endpoint (a recording loopback
 * HTTPS server), and that the dev provider accepts it (secret and certificate clients).
 */
const certificate = createClientCertificate();
const thumbprintSha256 = new X509Certificate(certificate.certPem).fingerprint256.replace(/:/g, '').toLowerCase();
const certificateCredential: MsalClientCredential = { clientCertificate: { thumbprintSha256, privateKey: certificate.keyPem } };

interface Recorded {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  form: URLSearchParams;
}

let provider: UnitProvider;
let recorder: Server;
let recorderUrl: string;
const recorded: Recorded[] = [];
/** What the recording endpoint answers next (status, location). */
let answer: { status: number; location?: string } = { status: 200 };

beforeAll(async () => {
  provider = await startUnitProvider({ client: { certificatePem: certificate.certPem } });
  recorder = createServer({ cert: provider.tls.certPem, key: provider.tls.keyPem }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      recorded.push({ method: req.method ?? '', path: req.url ?? '', headers: req.headers, form: new URLSearchParams(Buffer.concat(chunks).toString('utf8')) });
      res.writeHead(answer.status, answer.location ? { location: answer.location } : {}).end('{}');
    });
  });
  recorderUrl = `https://127.0.0.1:${await listenOnLoopback(recorder)}`;
});
afterAll(async () => {
  await closeServer(recorder);
  await provider?.close();
});
beforeEach(() => {
  recorded.length = 0;
  answer = { status: 200 };
});

function providerWith(metadata: Partial<ProviderMetadata>): Provider {
  const full = { issuer: recorderUrl, authorization_endpoint: `${recorderUrl}/authorize`, token_endpoint: `${recorderUrl}/token`, jwks_uri: `${recorderUrl}/jwks`, ...metadata } as ProviderMetadata;
  return { metadata: full, metadataJson: JSON.stringify(full), jwks: undefined as unknown as Provider['jwks'] };
}

describe('refreshTokensIn', () => {
  test('the non-empty string secrets of the cache\'s refresh tokens', () => {
    const cache = { AccessToken: { a: { secret: 'access' } }, RefreshToken: { r1: { secret: 'rt-1' }, r2: { secret: 'rt-2' }, r3: { secret: '' }, r4: { secret: 42 }, r5: {} } };
    expect(refreshTokensIn(JSON.stringify(cache))).toEqual(['rt-1', 'rt-2']);
  });

  test('no refresh tokens, or a cache that is not JSON: none', () => {
    expect(refreshTokensIn('{"AccessToken":{}}')).toEqual([]);
    expect(refreshTokensIn('{"Account":')).toEqual([]);
  });
});

describe('revokeRefreshTokens', () => {
  test('one form POST per token: the token, its type hint and the client secret; the statuses answered', async () => {
    const endpoint = `${recorderUrl}/revoke`;
    const statuses = await revokeRefreshTokens(providerWith({ revocation_endpoint: endpoint }), UNIT_APP.clientId, { clientSecret: 'the-secret' }, ['rt-1', 'rt-2']);
    expect(statuses).toEqual([200, 200]);
    expect(recorded.map((r) => [r.method, r.path])).toEqual([
      ['POST', '/revoke'],
      ['POST', '/revoke'],
    ]);
    for (const [i, r] of recorded.entries()) {
      expect(r.headers['content-type']).toBe('application/x-www-form-urlencoded');
      expect(r.headers['accept']).toBe('application/json');
      expect(Object.fromEntries(r.form)).toEqual({ token: `rt-${i + 1}`, token_type_hint: 'refresh_token', client_id: UNIT_APP.clientId, client_secret: 'the-secret' });
    }
  });

  test('a client assertion credential sends its assertion as a JWT bearer', async () => {
    const credential: MsalClientCredential = { clientAssertion: async () => 'signed.assertion.value' };
    await revokeRefreshTokens(providerWith({ revocation_endpoint: `${recorderUrl}/revoke` }), UNIT_APP.clientId, credential, ['rt-1']);
    expect(Object.fromEntries(recorded[0]!.form)).toEqual({
      token: 'rt-1',
      token_type_hint: 'refresh_token',
      client_id: UNIT_APP.clientId,
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      client_assertion: 'signed.assertion.value',
    });
  });

  test('a certificate credential signs a PS256 assertion for the token endpoint, naming the certificate by x5t#S256', async () => {
    const before = Math.floor(Date.now() / 1000);
    await revokeRefreshTokens(providerWith({ revocation_endpoint: `${recorderUrl}/revoke` }), UNIT_APP.clientId, certificateCredential, ['rt-1', 'rt-2']);
    const forms = recorded.map((r) => r.form);
    expect(forms[0]!.get('client_assertion_type')).toBe('urn:ietf:params:oauth:client-assertion-type:jwt-bearer');
    expect(forms[0]!.get('client_id')).toBe(UNIT_APP.clientId);
    expect(forms[0]!.has('client_secret')).toBe(false);
    const assertion = forms[0]!.get('client_assertion')!;
    expect(decodeProtectedHeader(assertion)).toEqual({ alg: 'PS256', typ: 'JWT', 'x5t#S256': createHash('sha256').update(new X509Certificate(certificate.certPem).raw).digest('base64url') });
    const { payload } = await jwtVerify(assertion, createPublicKey(certificate.certPem), { algorithms: ['PS256'], issuer: UNIT_APP.clientId, subject: UNIT_APP.clientId, audience: `${recorderUrl}/token` });
    expect(payload.jti).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(payload.iat).toBeGreaterThanOrEqual(before);
    expect(payload.nbf).toBe(payload.iat);
    expect(payload.exp).toBe(payload.iat! + 300);
    // A fresh assertion (jti) per request: a provider may refuse a replayed one.
    expect(forms[1]!.get('client_assertion')).not.toBe(assertion);
  });

  test('the dev provider accepts both: a secret and a certificate client are authenticated (200), a wrong secret is not (401)', async () => {
    const real = { metadata: { ...(await fetchMetadata()) }, metadataJson: '', jwks: undefined } as unknown as Provider;
    expect(real.metadata['revocation_endpoint']).toBe(`${provider.idp.issuer}/revoke`);
    const revokes = provider.idp.stats.requests.revoke;
    expect(await revokeRefreshTokens(real, UNIT_APP.clientId, { clientSecret: provider.clientSecret }, ['unknown-token'])).toEqual([200]);
    expect(await revokeRefreshTokens(real, UNIT_APP.clientId, certificateCredential, ['unknown-token'])).toEqual([200]);
    expect(await revokeRefreshTokens(real, UNIT_APP.clientId, { clientSecret: 'wrong' }, ['unknown-token'])).toEqual([401]);
    expect(provider.idp.stats.requests.revoke - revokes).toBe(3);
  });

  test('a redirect is not followed (the token would travel on): its status is the answer', async () => {
    answer = { status: 307, location: `${recorderUrl}/elsewhere` };
    expect(await revokeRefreshTokens(providerWith({ revocation_endpoint: `${recorderUrl}/revoke` }), UNIT_APP.clientId, { clientSecret: 's' }, ['rt-1'])).toEqual([307]);
    expect(recorded.map((r) => r.path)).toEqual(['/revoke']);
  });

  test('a refusal is reported, not thrown; an endpoint that cannot be reached is 0', async () => {
    answer = { status: 503 };
    expect(await revokeRefreshTokens(providerWith({ revocation_endpoint: `${recorderUrl}/revoke` }), UNIT_APP.clientId, { clientSecret: 's' }, ['rt-1'])).toEqual([503]);
    expect(await revokeRefreshTokens(providerWith({ revocation_endpoint: 'https://127.0.0.1:1/revoke' }), UNIT_APP.clientId, { clientSecret: 's' }, ['rt-1', 'rt-2'])).toEqual([0, 0]);
  });

  test('no revocation endpoint (Entra), one that is not https, or no token: nothing is sent', async () => {
    for (const metadata of [{}, { revocation_endpoint: `http${recorderUrl.slice(5)}/revoke` }, { revocation_endpoint: 42 }]) {
      expect(await revokeRefreshTokens(providerWith(metadata), UNIT_APP.clientId, { clientSecret: 's' }, ['rt-1'])).toEqual([]);
    }
    expect(await revokeRefreshTokens(providerWith({ revocation_endpoint: `${recorderUrl}/revoke` }), UNIT_APP.clientId, { clientSecret: 's' }, [])).toEqual([]);
    expect(recorded).toEqual([]);
  });
});

async function fetchMetadata(): Promise<ProviderMetadata> {
  const response = await fetch(`${provider.idp.issuer}/.well-known/openid-configuration`);
  return (await response.json()) as ProviderMetadata;
}
