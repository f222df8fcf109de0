import { SignJWT, createLocalJWKSet, exportJWK, generateKeyPair, type JWTPayload } from 'jose';
import type { Runtime } from '../../shared/runtime';
import type { CacheRow, LinkKind, WriteResult } from '../../shared/tokenCache/tableStore';
import { nowSeconds, sessionKey, type SessionEntry, type SessionMap } from '../../shared/session/lifetimes';
import { BACKCHANNEL_LOGOUT_EVENT, backChannelLogout, frontChannelLogout, logoutFrameAncestors, validateLogoutToken } from '../../shared/session/logoutNotifications';
import { ProblemError } from '../../shared/problems';

/**
 * Front- and back-channel logout against a provider whose keys are real (jose), with the
 * account rows, links and used token ids kept in memory (the Table side runs against Azurite
 * in test/integration/logoutToken.test.ts).
 */
const ISSUER = 'https://idp.example/tenant';
const CLIENT = 'client-1';
const TENANT = '6f1c2d3e-4a5b-4c6d-8e7f-9a0b1c2d3e4f';

type PrivateKey = Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];
let signingKey: PrivateKey;
let otherKey: PrivateKey;
let jwks: ReturnType<typeof createLocalJWKSet>;
beforeAll(async () => {
  const pair = await generateKeyPair('RS256', { extractable: true });
  signingKey = pair.privateKey;
  otherKey = (await generateKeyPair('RS256')).privateKey;
  const jwk = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'RS256' };
  jwks = createLocalJWKSet({ keys: [jwk] });
});

class Rows {
  rows = new Map<string, { etag: string; sessions: SessionMap }>();
  links = new Map<string, { account: string; issuer: string }>();
  once = new Set<string>();
  onceExpiry = new Map<string, Date>();
  linkReads: string[] = [];
  private v = 0;
  put(pk: string, sessions: SessionMap) {
    this.rows.set(pk, { etag: String(++this.v), sessions });
  }
  async read(pk: string): Promise<CacheRow | undefined> {
    const row = this.rows.get(pk);
    return row && { cache: '{}', etag: row.etag, sessions: row.sessions };
  }
  async writeSessions(pk: string, sessions: SessionMap, _e: Date, etag: string): Promise<WriteResult> {
    const row = this.rows.get(pk);
    if (!row) return { kind: 'missing' };
    if (row.etag !== etag) return { kind: 'conflict' };
    this.put(pk, sessions);
    return { kind: 'written', etag: this.rows.get(pk)!.etag };
  }
  async delete(pk: string): Promise<boolean> {
    return this.rows.delete(pk);
  }
  async readLink(kind: LinkKind, value: string, issuer: string) {
    this.linkReads.push(`${kind} ${value} ${issuer}`);
    return this.links.get(kind === 'sid' ? `sid ${value}` : `sub ${value} ${issuer}`);
  }
  async recordOnce(pk: string, expiresOn: Date) {
    if (this.once.has(pk)) return false;
    this.once.add(pk);
    this.onceExpiry.set(pk, expiresOn);
    return true;
  }
}

let rows: Rows;
let runtimeFor: (metadata?: Record<string, unknown>, providerFails?: boolean) => Runtime;
let runtime: Runtime;
beforeEach(() => {
  rows = new Rows();
  runtimeFor = (metadata = {}, providerFails = false) =>
    ({
      config: { clientId: CLIENT, authority: { url: 'https://idp.example/tenant' }, session: { idleTimeoutSeconds: 3600, absoluteLifetimeSeconds: 86400 } },
      providers: { get: async () => (providerFails ? Promise.reject(new Error('down')) : { metadata: { issuer: ISSUER, ...metadata }, jwks }) },
      tokenCache: rows,
    }) as unknown as Runtime;
  runtime = runtimeFor();
});

const live = (providerSid?: string): SessionEntry => ({ ...(providerSid ? { providerSid } : {}), started: nowSeconds() - 10, lastSeen: nowSeconds() - 10 });

async function logoutToken(claims: JWTPayload = {}, header: Record<string, unknown> = {}, key: PrivateKey = signingKey): Promise<string> {
  const now = nowSeconds();
  return new SignJWT({ iss: ISSUER, aud: CLIENT, iat: now, exp: now + 120, jti: `jti-${Math.random()}`, sid: 'psid', events: { [BACKCHANNEL_LOGOUT_EVENT]: {} }, ...claims })
    .setProtectedHeader({ alg: 'RS256', kid: 'k1', typ: 'logout+jwt', ...header })
    .sign(key);
}

async function rejection(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  if (!(error instanceof ProblemError)) throw new Error(`expected a problem, got ${String(error)}`);
  return `${error.status} ${error.code}: ${error.detail}`;
}

describe('back-channel logout token validation', () => {
  test('a valid token: its claims', async () => {
    const claims = await validateLogoutToken(runtime, await logoutToken({ sub: 'user-1' }));
    expect(claims).toMatchObject({ iss: ISSUER, sid: 'psid', sub: 'user-1' });
  });

  test.each([
    ['typ logout+jwt', { typ: 'logout+jwt' }],
    ['typ application/logout+jwt', { typ: 'application/logout+jwt' }],
    ['typ JWT', { typ: 'JWT' }],
    ['no typ', { typ: undefined }],
  ])('accepted with %s', async (_name, header) => {
    await expect(validateLogoutToken(runtime, await logoutToken({}, header))).resolves.toMatchObject({ sid: 'psid' });
  });

  test.each<[string, () => Promise<string | null>, RegExp]>([
    ['no token', async () => null, /no logout_token/],
    ['an empty token', async () => '', /no logout_token/],
    ['a token over 16 KiB', async () => `${'a'.repeat(16 * 1024)}.b.c`, /too large/],
    ['an encrypted token', async () => 'a.b.c.d.e', /Encrypted/],
    ['not a JWT', async () => 'a.b', /not a signed JWT/],
    ['a header that does not decode', async () => '!!.b.c', /header does not decode/],
    ['alg none', async () => `${Buffer.from(JSON.stringify({ alg: 'none' })).toString('base64url')}.${Buffer.from('{}').toString('base64url')}.`, /asymmetric/],
    ['HMAC', async () => `${Buffer.from(JSON.stringify({ alg: 'HS256' })).toString('base64url')}.e30.sig`, /asymmetric/],
    ['another JWT type', () => logoutToken({}, { typ: 'at+jwt' }), /another JWT type/],
    ['another signing key', () => logoutToken({}, {}, otherKey), /signature does not verify/],
    ['another audience', () => logoutToken({ aud: 'someone-else' }), /"aud" claim/],
    ['expired', () => logoutToken({ exp: nowSeconds() - 400, iat: nowSeconds() - 500 }), /expired/],
    ['issued over ten minutes (and the clock tolerance) ago', () => logoutToken({ iat: nowSeconds() - 1000, exp: nowSeconds() + 60 }), /expired/],
    ['no jti', () => logoutToken({ jti: undefined }), /"jti" claim/],
    ['another issuer', () => logoutToken({ iss: 'https://other.example' }), /another issuer/],
    ['no events', () => logoutToken({ events: undefined }), /no events claim/],
    ['events as a list', () => logoutToken({ events: [BACKCHANNEL_LOGOUT_EVENT] }), /no events claim/],
    ['another event', () => logoutToken({ events: { 'http://example/other': {} } }), /does not declare a back-channel logout/],
    ['the event as a string', () => logoutToken({ events: { [BACKCHANNEL_LOGOUT_EVENT]: 'yes' } }), /does not declare/],
    ['the event as a list', () => logoutToken({ events: { [BACKCHANNEL_LOGOUT_EVENT]: [] } }), /does not declare/],
    ['an empty sub', () => logoutToken({ sub: '', sid: undefined }), /sub claim is malformed/],
    ['a numeric sub', () => logoutToken({ sub: 5 as unknown as string }), /sub claim is malformed/],
    ['a sub over 256 characters', () => logoutToken({ sub: 's'.repeat(257) }), /sub claim is malformed/],
    ['an empty sid', () => logoutToken({ sid: '' }), /sid claim is malformed/],
    ['a numeric sid', () => logoutToken({ sid: 7 }), /sid claim is malformed/],
    ['a sid over 256 characters', () => logoutToken({ sid: 's'.repeat(257) }), /sid claim is malformed/],
    ['neither sub nor sid', () => logoutToken({ sid: undefined }), /neither sub nor sid/],
    ['a nonce', () => logoutToken({ nonce: 'n' }), /must not carry a nonce/],
    ['an empty jti', () => logoutToken({ jti: '' }), /jti/],
    ['a jti over 256 characters', () => logoutToken({ jti: 'j'.repeat(257) }), /jti claim is malformed/],
  ])('refused: %s', async (_name, token, why) => {
    const answer = await rejection(validateLogoutToken(runtime, await token()));
    expect(answer).toMatch(/^400 logout_token_invalid: /);
    expect(answer).toMatch(why);
  });

  test('limits sit where they say: 256-character ids are accepted', async () => {
    await expect(validateLogoutToken(runtime, await logoutToken({ sid: 's'.repeat(256), sub: 'u'.repeat(256), jti: 'j'.repeat(256) }))).resolves.toBeDefined();
  });

  test('the refusal carries the spec\'s invalid_request error', async () => {
    const error = await validateLogoutToken(runtime, null).catch((e: unknown) => e);
    expect((error as ProblemError).extensions).toMatchObject({ error: 'invalid_request' });
  });

  test('keys that cannot be fetched: 502 provider_unavailable, not the caller\'s fault', async () => {
    const broken = { ...runtime, providers: { get: async () => ({ metadata: { issuer: ISSUER }, jwks: async () => { throw new TypeError('fetch failed'); } }) } } as unknown as Runtime;
    expect(await rejection(validateLogoutToken(broken, await logoutToken()))).toMatch(/^50\d provider_unavailable/);
  });

  test('Entra\'s {tenantid} issuer: any tenant id in the token\'s iss, nothing else', async () => {
    const entra = runtimeFor({ issuer: 'https://login.example/{tenantid}/v2.0' });
    await expect(validateLogoutToken(entra, await logoutToken({ iss: `https://login.example/${TENANT}/v2.0` }))).resolves.toBeDefined();
    expect(await rejection(validateLogoutToken(entra, await logoutToken({ iss: 'https://login.example/not-a-tenant/v2.0' })))).toMatch(/another issuer/);
    expect(await rejection(validateLogoutToken(entra, await logoutToken({ iss: `https://evil.example/${TENANT}/v2.0` })))).toMatch(/another issuer/);
  });
});

describe('back-channel logout', () => {
  test('with sid: that provider session\'s app sessions end, the account\'s others stay; the token id is remembered until it expires', async () => {
    rows.links.set('sid psid', { account: 'acct', issuer: ISSUER });
    rows.put('acct', { [sessionKey('a')]: live('psid'), [sessionKey('b')]: live('other') });
    const token = await logoutToken({ jti: 'jti-1' });
    expect(await backChannelLogout(runtime, token)).toEqual({ ended: 1 });
    expect(Object.keys(rows.rows.get('acct')!.sessions)).toEqual([sessionKey('b')]);
    const [marker] = [...rows.once];
    expect(marker).toMatch(/^jti-[A-Za-z0-9_-]{43}$/);
    const exp = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()).exp as number;
    expect(rows.onceExpiry.get(marker!)!.getTime()).toBe((exp + 300) * 1000);
    expect(await rejection(backChannelLogout(runtime, token))).toMatch(/^400 logout_token_invalid: .*already used/);
  });

  test('the same jti from another issuer is another token', async () => {
    await backChannelLogout(runtime, await logoutToken({ jti: 'same' }));
    const entra = runtimeFor({ issuer: 'https://login.example/{tenantid}/v2.0' });
    await expect(backChannelLogout(entra, await logoutToken({ jti: 'same', iss: `https://login.example/${TENANT}/v2.0` }))).resolves.toEqual({ ended: 0 });
  });

  test('with sub alone: every session of the user ends, and the row with them', async () => {
    rows.links.set(`sub user-1 ${ISSUER}`, { account: 'acct', issuer: ISSUER });
    rows.put('acct', { [sessionKey('a')]: live('psid'), [sessionKey('b')]: live() });
    expect(await backChannelLogout(runtime, await logoutToken({ sid: undefined, sub: 'user-1' }))).toEqual({ ended: 2 });
    expect(rows.rows.has('acct')).toBe(false);
    expect(rows.linkReads).toEqual([`sub user-1 ${ISSUER}`]);
  });

  test('a link written for another issuer ends nothing; no link ends nothing (still 200 for the provider)', async () => {
    rows.links.set('sid psid', { account: 'acct', issuer: 'https://other.example' });
    rows.links.set(`sub user-1 ${ISSUER}`, { account: 'acct', issuer: 'https://other.example' });
    rows.put('acct', { [sessionKey('a')]: live('psid') });
    expect(await backChannelLogout(runtime, await logoutToken())).toEqual({ ended: 0 });
    expect(await backChannelLogout(runtime, await logoutToken({ sid: undefined, sub: 'user-1' }))).toEqual({ ended: 0 });
    expect(await backChannelLogout(runtime, await logoutToken({ sid: 'unknown' }))).toEqual({ ended: 0 });
    expect(rows.rows.get('acct')!.sessions).toHaveProperty(sessionKey('a'));
  });
});

describe('front-channel logout', () => {
  test('Entra\'s form, sid without iss: the provider session\'s app sessions end', async () => {
    rows.links.set('sid psid', { account: 'acct', issuer: ISSUER });
    rows.put('acct', { [sessionKey('a')]: live('psid'), [sessionKey('b')]: live('other') });
    expect(await frontChannelLogout(runtime, { sid: 'psid', iss: null })).toEqual({ ended: 1 });
    expect(rows.linkReads).toEqual(['sid psid ']);
  });

  test('with the provider\'s iss: ended; with a link of another issuer: nothing ends', async () => {
    rows.links.set('sid psid', { account: 'acct', issuer: ISSUER });
    rows.put('acct', { [sessionKey('a')]: live('psid'), [sessionKey('b')]: live('psid') });
    expect(await frontChannelLogout(runtime, { sid: 'psid', iss: ISSUER })).toEqual({ ended: 2 });
    rows.links.set('sid other', { account: 'acct2', issuer: 'https://elsewhere.example' });
    rows.put('acct2', { [sessionKey('c')]: live('other') });
    expect(await frontChannelLogout(runtime, { sid: 'other', iss: ISSUER })).toEqual({ ended: 0 });
    expect(await frontChannelLogout(runtime, { sid: 'nolink', iss: null })).toEqual({ ended: 0 });
  });

  test.each<[string, { sid: string | null; iss: string | null }, RegExp]>([
    ['no sid', { sid: null, iss: null }, /no sid/],
    ['an empty sid', { sid: '', iss: null }, /no sid/],
    ['a sid over 256 characters', { sid: 's'.repeat(257), iss: null }, /no sid/],
    ['another issuer', { sid: 'psid', iss: 'https://other.example' }, /not this app's provider/],
  ])('refused (400): %s', async (_name, params, why) => {
    const answer = await rejection(frontChannelLogout(runtime, params));
    expect(answer).toMatch(/^400 frontchannel_logout_invalid: /);
    expect(answer).toMatch(why);
  });

  test('a 256-character sid is a sid', async () => {
    await expect(frontChannelLogout(runtime, { sid: 's'.repeat(256), iss: null })).resolves.toEqual({ ended: 0 });
  });
});

describe('logoutFrameAncestors', () => {
  test('the authority\'s origin, and the end-session page\'s when it is another', async () => {
    expect(await logoutFrameAncestors(runtime)).toEqual(['https://idp.example']);
    expect(await logoutFrameAncestors(runtimeFor({ end_session_endpoint: 'https://idp.example/logout' }))).toEqual(['https://idp.example']);
    expect(await logoutFrameAncestors(runtimeFor({ end_session_endpoint: 'https://pages.idp.example/logout' }))).toEqual(['https://idp.example', 'https://pages.idp.example']);
    expect(await logoutFrameAncestors(runtimeFor({ end_session_endpoint: 'not a url' }))).toEqual(['https://idp.example']);
  });

  test('a provider that cannot be read: the authority\'s origin alone', async () => {
    expect(await logoutFrameAncestors(runtimeFor({}, true))).toEqual(['https://idp.example']);
  });
});
