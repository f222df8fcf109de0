import { SignJWT, UnsecuredJWT, CompactEncrypt, decodeProtectedHeader, generateKeyPair } from 'jose';
import { randomBytes } from 'node:crypto';
import { startLocalStack, type LocalStack } from '../../dev/stack';
import { CookieJar, send, signIn } from '../support/browserless';
import { cacheTable } from '../support/cacheRows';
import { readSessionRecords } from '../support/sessionRows';

/**
 * Every rejection rule of OpenID Connect Back-Channel Logout 1.0 (sections 2.4 and 2.6), through
 * the real function: each bad token answers 400 problem+json `logout_token_invalid` (with the
 * spec's `error: invalid_request`) and ends nothing; the well-formed ones answer 200.
 */
const EVENT = 'http://schemas.openid.net/event/backchannel-logout';
let stack: LocalStack;
let jar: CookieJar;
let providerSid: string;

beforeAll(async () => {
  stack = await startLocalStack({ settings: {}, port: 0, log: () => {} });
  await cacheTable(stack).createTable();
  jar = new CookieJar();
  await signIn(stack.appUrl, jar);
  providerSid = Object.values((await readSessionRecords(stack))!.sessions)[0]!.providerSid!;
});
afterAll(async () => {
  await stack?.close();
});

const controls = () => stack.idp!.controls;
const clientId = () => stack.devClient!.clientId;

/** Well-formed claims for an unknown provider session: a valid token that ends nothing. */
function claims(extra: Record<string, unknown> = {}, drop: string[] = []): Record<string, unknown> {
  const base: Record<string, unknown> = { ...controls().logoutTokenClaims(clientId(), { sid: `unknown-${randomBytes(6).toString('hex')}` }), ...extra };
  for (const name of drop) delete base[name];
  return base;
}

async function post(token: string | undefined, contentType = 'application/x-www-form-urlencoded'): Promise<Response> {
  return fetch(`${stack.appUrl}/api/logout/backchannel`, {
    method: 'POST',
    headers: { 'content-type': contentType },
    body: token === undefined ? '' : new URLSearchParams({ logout_token: token }).toString(),
  });
}

async function expectRejected(answer: Response, detail?: RegExp): Promise<void> {
  expect(answer.status).toBe(400);
  expect(answer.headers.get('content-type')).toBe('application/problem+json');
  expect(answer.headers.get('cache-control')).toBe('no-store');
  const body = (await answer.json()) as { code: string; error: string; detail: string };
  expect(body).toMatchObject({ code: 'logout_token_invalid', error: 'invalid_request' });
  if (detail) expect(body.detail).toMatch(detail);
}

async function providerKid(): Promise<string> {
  return decodeProtectedHeader(await controls().signLogoutToken(claims())).kid!;
}

afterEach(async () => {
  // No rejected token ever ends the signed-in session.
  if (expect.getState().currentTestName?.includes('ends it')) return;
  expect((await send(`${stack.appUrl}/api/me?slide=false`, jar)).status).toBe(200);
});

describe('accepted', () => {
  test.each([
    ['typ logout+jwt', 'logout+jwt'],
    ['typ application/logout+jwt', 'application/logout+jwt'],
    ['typ JWT', 'JWT'],
    ['no typ (accepted, not required)', null],
  ])('%s: 200', async (_name, typ) => {
    const answer = await post(await controls().signLogoutToken(claims(), { typ }));
    expect(answer.status).toBe(200);
    expect(answer.headers.get('cache-control')).toBe('no-store');
  });

  test('sub and sid together: 200', async () => {
    expect((await post(await controls().signLogoutToken(claims({ sub: 'someone-else' })))).status).toBe(200);
  });
});

describe('2.6 rejections: 400 logout_token_invalid, nothing ends', () => {
  test('no logout_token, or not a form post', async () => {
    await expectRejected(await post(undefined), /no logout_token/);
    await expectRejected(await post(await controls().signLogoutToken(claims()), 'application/json'));
  });

  test('not a JWT', async () => {
    await expectRejected(await post('not-a-jwt'));
    await expectRejected(await post('a.b.c'));
  });

  test('encrypted (JWE): the app registered no encryption key', async () => {
    const { publicKey } = await generateKeyPair('RSA-OAEP-256');
    const jwe = await new CompactEncrypt(new TextEncoder().encode(await controls().signLogoutToken(claims()))).setProtectedHeader({ alg: 'RSA-OAEP-256', enc: 'A256GCM' }).encrypt(publicKey);
    await expectRejected(await post(jwe), /Encrypted/);
  });

  test('alg none', async () => {
    await expectRejected(await post(new UnsecuredJWT(claims()).encode()), /asymmetric/);
  });

  test('a symmetric algorithm (HS256)', async () => {
    const token = await new SignJWT(claims()).setProtectedHeader({ alg: 'HS256', typ: 'logout+jwt' }).sign(randomBytes(32));
    await expectRejected(await post(token), /asymmetric/);
  });

  test('a signature by a key the provider does not publish, under its kid', async () => {
    const { privateKey } = await generateKeyPair('RS256');
    const token = await new SignJWT(claims()).setProtectedHeader({ alg: 'RS256', typ: 'logout+jwt', kid: await providerKid() }).sign(privateKey);
    await expectRejected(await post(token), /signature/);
  });

  test('a kid the provider does not publish', async () => {
    await expectRejected(await post(await controls().signLogoutToken(claims(), { kid: 'no-such-key' })), /key/);
  });

  test('a tampered payload', async () => {
    const [h, , s] = (await controls().signLogoutToken(claims())).split('.');
    const forged = Buffer.from(JSON.stringify(claims({ sid: providerSid }))).toString('base64url');
    await expectRejected(await post(`${h}.${forged}.${s}`), /signature/);
  });

  test('another JWT type (an access token, an ID token)', async () => {
    await expectRejected(await post(await controls().signLogoutToken(claims(), { typ: 'at+jwt' })), /type/);
  });

  test('iss of another issuer', async () => {
    await expectRejected(await post(await controls().signLogoutToken(claims({ iss: 'https://evil.example' }))), /issuer/);
  });

  test('aud of another client', async () => {
    await expectRejected(await post(await controls().signLogoutToken(claims({ aud: 'another-client' }))), /aud/);
  });

  test.each(['iss', 'aud', 'iat', 'exp', 'jti'])('no %s', async (claim) => {
    await expectRejected(await post(await controls().signLogoutToken(claims({}, [claim]))));
  });

  test('expired', async () => {
    const now = Math.floor(Date.now() / 1000);
    await expectRejected(await post(await controls().signLogoutToken(claims({ iat: now - 900, exp: now - 600 }))), /expired/);
  });

  test('issued too long ago, or in the future', async () => {
    const now = Math.floor(Date.now() / 1000);
    await expectRejected(await post(await controls().signLogoutToken(claims({ iat: now - 3600, exp: now + 600 }))), /expired|iat/);
    await expectRejected(await post(await controls().signLogoutToken(claims({ iat: now + 3600, exp: now + 7200 }))), /iat/);
  });

  test('no events claim, an events claim without the back-channel member, or a member that is not an object', async () => {
    await expectRejected(await post(await controls().signLogoutToken(claims({}, ['events']))), /events/);
    await expectRejected(await post(await controls().signLogoutToken(claims({ events: { 'http://schemas.openid.net/event/other': {} } }))), /back-channel/);
    await expectRejected(await post(await controls().signLogoutToken(claims({ events: { [EVENT]: true } }))), /back-channel/);
    await expectRejected(await post(await controls().signLogoutToken(claims({ events: [EVENT] }))), /events/);
  });

  test('neither sub nor sid', async () => {
    await expectRejected(await post(await controls().signLogoutToken(claims({}, ['sid', 'sub']))), /neither sub nor sid/);
  });

  test('a sub or sid that is not a string', async () => {
    await expectRejected(await post(await controls().signLogoutToken(claims({ sid: 42 }))), /sid/);
    await expectRejected(await post(await controls().signLogoutToken(claims({ sub: ['x'] }))), /sub/);
  });

  test('a nonce (an ID token replayed as a logout token)', async () => {
    await expectRejected(await post(await controls().signLogoutToken(claims({ nonce: 'n' }))), /nonce/);
  });

  test('a jti seen before, within the token\'s lifetime', async () => {
    const token = await controls().signLogoutToken(claims());
    expect((await post(token)).status).toBe(200);
    await expectRejected(await post(token), /already used/);
    // The same jti in a freshly signed token is still a replay.
    const again = await controls().signLogoutToken(claims({ jti: decodeJti(token) }));
    await expectRejected(await post(again), /already used/);
  });
});

function decodeJti(token: string): string {
  return (JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as { jti: string }).jti;
}

test('a valid token for the signed-in session ends it', async () => {
  const answer = await post(await controls().signLogoutToken(claims({ sid: providerSid })));
  expect(answer.status).toBe(200);
  expect((await send(`${stack.appUrl}/api/me`, jar)).status).toBe(401);
});
