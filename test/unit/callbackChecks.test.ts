import { createServer, type Server, type Socket } from 'node:net';
import { SignJWT, createLocalJWKSet, createRemoteJWKSet, exportJWK, generateKeyPair, type CryptoKey, type JWTPayload } from 'jose';
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
let privateKey: CryptoKey;

beforeAll(async () => {
  const pair = await generateKeyPair('RS256');
  const { publicKey } = pair;
  privateKey = pair.privateKey;
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
      .sign(pair.privateKey);
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

describe('validateIdToken: what jose refuses, named', () => {
  const now = () => Math.floor(Date.now() / 1000);
  /** A token built claim by claim (none set unless given), signed with `key` (default the published one). */
  async function raw(claims: JWTPayload, header: { alg?: string; kid?: string } = {}, key: CryptoKey | Uint8Array = privateKey): Promise<string> {
    return new SignJWT(claims).setProtectedHeader({ alg: header.alg ?? 'RS256', kid: header.kid ?? 'k1' }).sign(key);
  }
  const full = (extra: JWTPayload = {}): JWTPayload => ({ iss: ISSUER, sub: 's', aud: CLIENT_ID, exp: now() + 600, iat: now(), nonce: NONCE, ...extra });
  const check = async (token: string | undefined) => verdict(validateIdToken(token, provider, CLIENT_ID, NONCE));

  test('no ID token at all', async () => {
    expect(await check(undefined)).toBe('401 id_token_invalid: The provider returned no ID token.');
    expect(await check('')).toBe('401 id_token_invalid: The provider returned no ID token.');
  });

  test('another audience', async () => {
    expect(await check(await raw(full({ aud: 'other-app' })))).toBe('401 id_token_invalid: The ID token\'s "aud" claim is not valid.');
  });

  test.each(['iss', 'sub', 'aud', 'exp', 'iat'])('a token without %s', async (claim) => {
    const claims = full();
    delete claims[claim];
    expect(await check(await raw(claims))).toBe(`401 id_token_invalid: The ID token's "${claim}" claim is not valid.`);
  });

  test('expiry: five minutes of clock skew allowed, not more', async () => {
    expect(await check(await raw(full({ exp: now() - 240 })))).toBe('accepted');
    expect(await check(await raw(full({ exp: now() - 400 })))).toBe('401 id_token_invalid: The ID token has expired.');
  });

  test('a signature that does not verify, a key the provider does not publish, an algorithm not allowed, a malformed token', async () => {
    const other = await generateKeyPair('RS256');
    expect(await check(await raw(full(), {}, other.privateKey))).toBe('401 id_token_invalid: The ID token signature does not verify.');
    expect(await check(await raw(full(), { kid: 'k2' }))).toBe('401 id_token_invalid: The ID token is signed by a key the provider does not publish.');
    expect(await check(await raw(full(), { alg: 'HS256' }, new TextEncoder().encode('a'.repeat(32))))).toBe('401 id_token_invalid: The ID token uses an algorithm that is not allowed.');
    expect(await check('not.a.jwt')).toBe('401 id_token_invalid: The ID token is malformed.');
  });

  describe('keys that cannot be fetched', () => {
    let blackHole: Server;
    let port: number;
    const held = new Set<Socket>();
    beforeAll(async () => {
      // Accepts connections and never answers (a hung key endpoint).
      blackHole = createServer((socket) => {
        held.add(socket);
        socket.on('close', () => held.delete(socket));
      });
      await new Promise<void>((resolve) => blackHole.listen(0, '127.0.0.1', resolve));
      port = (blackHole.address() as { port: number }).port;
    });
    afterAll(async () => {
      for (const socket of held) socket.destroy();
      await new Promise((resolve) => blackHole.close(resolve));
    });
    const withKeysAt = (url: string, timeoutDuration = 5000): Provider => ({ ...provider, jwks: createRemoteJWKSet(new URL(url), { timeoutDuration }) });

    test('in time: 504 provider_timeout; at all: 502 provider_unavailable (the provider, not the token)', async () => {
      const token = await raw(full());
      expect(await verdict(validateIdToken(token, withKeysAt(`https://127.0.0.1:${port}/jwks`, 100), CLIENT_ID, NONCE))).toBe('504 provider_timeout: The signing keys could not be fetched in time.');
      expect(await verdict(validateIdToken(token, withKeysAt('https://127.0.0.1:1/jwks'), CLIENT_ID, NONCE))).toBe('502 provider_unavailable: The signing keys could not be fetched.');
    });
  });
});

describe('expectedIssuer', () => {
  const template = 'https://login.microsoftonline.com/{tenantid}/v2.0';
  test('fills {tenantid} with a GUID tid', () => {
    expect(expectedIssuer(template, '72f988bf-86f1-41af-91ab-2d7cd011db47')).toBe('https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0');
  });
  test.each(['evil.example/x', '../../evil', '', 42, undefined, 'a'.repeat(36), '72f988bf-86f1-41af-91ab-2d7cd011db47/x', 'x/72f988bf-86f1-41af-91ab-2d7cd011db47', ['72f988bf-86f1-41af-91ab-2d7cd011db47']])('refuses a tid that is not a GUID: %p', (tid) => {
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
  test('the issuer is compared exactly (not case-insensitively); the details say what was wrong', () => {
    expect(check(ISSUER.toUpperCase(), plain)).toBe('issuer_mismatch');
    const detail = (iss: string | null, metadata: ProviderMetadata) => {
      try {
        checkAuthorizationResponseIssuer(iss, metadata);
        return 'ok';
      } catch (error) {
        return (error as ProblemError).detail;
      }
    };
    expect(detail('https://evil.example', plain)).toBe('Its iss parameter is not the provider\'s issuer.');
    expect(detail(null, advertising)).toBe('The provider sends an iss parameter and this response has none.');
  });
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
    expect(check('https://login.microsoftonline.com/72F988BF-86F1-41AF-91AB-2D7CD011DB47/v2.0', entra)).toBe('ok');
    expect(check('https://login.microsoftonline.com/evil/v2.0', entra)).toBe('issuer_mismatch');
    expect(check('https://login.microsoftonlineXcom/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0', entra)).toBe('issuer_mismatch');
  });
});
