import { SignJWT, createLocalJWKSet, exportJWK, generateKeyPair, type JWTPayload } from 'jose';
import { expectedIssuer, validateIdToken } from '../../shared/auth/idToken';
import { checkAuthorizationResponseIssuer } from '../../shared/auth/signIn';
import type { Provider, ProviderMetadata } from '../../shared/auth/discovery';
import { ProblemError } from '../../shared/problems';

/** The callback's own checks, independent of MSAL's: ID token claims and RFC 9207's iss. */
const ISSUER = 'https://idp.example';
const CLIENT_ID = 'client-1';
const NONCE = 'nonce-1';
let provider: Provider;
let sign: (claims: JWTPayload) => Promise<string>;

beforeAll(async () => {
  const { publicKey, privateKey } = await generateKeyPair('RS256');
  const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'RS256' };
  const metadata: ProviderMetadata = { issuer: ISSUER, authorization_endpoint: `${ISSUER}/a`, token_endpoint: `${ISSUER}/t`, jwks_uri: `${ISSUER}/k` };
  provider = { metadata, metadataJson: JSON.stringify(metadata), jwks: createLocalJWKSet({ keys: [jwk] }) };
  sign = (claims) =>
    new SignJWT({ nonce: NONCE, sub: 's', ...claims })
      .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
      .setIssuer(typeof claims.iss === 'string' ? claims.iss : ISSUER)
      .setAudience(claims.aud ?? CLIENT_ID)
      .setIssuedAt()
      .setExpirationTime('10m')
      .sign(privateKey);
});

async function verdict(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return 'accepted';
  } catch (error) {
    return error instanceof ProblemError ? `${error.status} ${error.code}: ${error.detail}` : String(error);
  }
}

describe('validateIdToken', () => {
  test('accepts a token with our nonce, issuer and audience', async () => {
    expect(await verdict(validateIdToken(await sign({}), provider, CLIENT_ID, NONCE))).toBe('accepted');
  });

  test('refuses another nonce or none (our own check, not only MSAL\'s)', async () => {
    expect(await verdict(validateIdToken(await sign({ nonce: 'other' }), provider, CLIENT_ID, NONCE))).toMatch(/^401 id_token_invalid: .*nonce/);
    expect(await verdict(validateIdToken(await sign({ nonce: undefined }), provider, CLIENT_ID, NONCE))).toMatch(/^401 id_token_invalid: .*nonce/);
  });

  test('with several audiences, azp must be the client', async () => {
    expect(await verdict(validateIdToken(await sign({ aud: [CLIENT_ID, 'other-app'] }), provider, CLIENT_ID, NONCE))).toMatch(/^401 id_token_invalid: .*azp/);
    expect(await verdict(validateIdToken(await sign({ aud: [CLIENT_ID, 'other-app'], azp: 'other-app' }), provider, CLIENT_ID, NONCE))).toMatch(/azp/);
    expect(await verdict(validateIdToken(await sign({ aud: [CLIENT_ID, 'other-app'], azp: CLIENT_ID }), provider, CLIENT_ID, NONCE))).toBe('accepted');
  });

  test('an azp that is not the client is refused even with one audience', async () => {
    expect(await verdict(validateIdToken(await sign({ azp: 'other-app' }), provider, CLIENT_ID, NONCE))).toMatch(/azp/);
  });

  test('refuses another issuer', async () => {
    expect(await verdict(validateIdToken(await sign({ iss: 'https://evil.example' }), provider, CLIENT_ID, NONCE))).toMatch(/issuer/);
  });
});

describe('expectedIssuer', () => {
  const template = 'https://login.microsoftonline.com/{tenantid}/v2.0';
  test('fills {tenantid} with a GUID tid', () => {
    expect(expectedIssuer(template, '72f988bf-86f1-41af-91ab-2d7cd011db47')).toBe('https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0');
  });
  test.each(['evil.example/x', '../../evil', '', 42, undefined, 'a'.repeat(36), '72f988bf-86f1-41af-91ab-2d7cd011db47/x'])('refuses a tid that is not a GUID: %p', (tid) => {
    expect(expectedIssuer(template, tid)).toBeUndefined();
  });
  test('a fixed issuer is kept', () => {
    expect(expectedIssuer(ISSUER, 'anything')).toBe(ISSUER);
  });
});

describe('checkAuthorizationResponseIssuer (RFC 9207)', () => {
  const plain: ProviderMetadata = { issuer: ISSUER, authorization_endpoint: '', token_endpoint: '', jwks_uri: '' };
  const advertising: ProviderMetadata = { ...plain, authorization_response_iss_parameter_supported: true };
  const check = (iss: string | null, metadata: ProviderMetadata) => {
    try {
      checkAuthorizationResponseIssuer(iss, metadata);
      return 'ok';
    } catch (error) {
      return (error as ProblemError).code;
    }
  };

  test('not advertised and not sent: nothing to check', () => expect(check(null, plain)).toBe('ok'));
  test('sent: must be the issuer, advertised or not', () => {
    expect(check(ISSUER, plain)).toBe('ok');
    expect(check('https://evil.example', plain)).toBe('issuer_mismatch');
    expect(check(`${ISSUER}/`, advertising)).toBe('issuer_mismatch');
  });
  test('advertised: a response without iss is refused', () => {
    expect(check(null, advertising)).toBe('issuer_mismatch');
    expect(check(ISSUER, advertising)).toBe('ok');
  });
  test('a {tenantid} template accepts a GUID only', () => {
    const entra = { ...advertising, issuer: 'https://login.microsoftonline.com/{tenantid}/v2.0' };
    expect(check('https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0', entra)).toBe('ok');
    expect(check('https://login.microsoftonline.com/evil/v2.0', entra)).toBe('issuer_mismatch');
    expect(check('https://login.microsoftonlineXcom/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0', entra)).toBe('issuer_mismatch');
  });
});
