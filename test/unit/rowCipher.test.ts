import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import { deflateRawSync } from 'node:zlib';
import { deriveCacheKeys, RowCipher } from '../../shared/tokenCache/rowCipher';
import { fromEntity, toEntity } from '../../shared/tokenCache/tableStore';
import { ProblemError } from '../../shared/problems';

const k1 = randomBytes(32);
const k2 = randomBytes(32);

function msalLikeCache(accessTokens: number): string {
  const jwt = () => `eyJhbGciOiJSUzI1NiJ9.${randomBytes(600).toString('base64url')}.${randomBytes(256).toString('base64url')}`;
  const AccessToken = Object.fromEntries(Array.from({ length: accessTokens }, (_, i) => [`home-env-at-${i}`, { home_account_id: 'oid.tid', environment: 'login', credential_type: 'AccessToken', client_id: 'c', secret: jwt(), realm: 'tid', target: `api://api-${i}/.default`, cached_at: '1', expires_on: '2', extended_expires_on: '2', token_type: 'Bearer' }]));
  return JSON.stringify({ Account: { a: { home_account_id: 'oid.tid', username: 'ada@contoso.dev' } }, RefreshToken: { r: { secret: randomBytes(700).toString('base64url') } }, IdToken: { i: { secret: jwt() } }, AccessToken, AppMetadata: {} });
}

describe('RowCipher', () => {
  test('opens what it sealed, for the same row only', () => {
    const cipher = new RowCipher([k1]);
    const sealed = cipher.seal('pk-a', 'msal', '{"x":1}');
    expect(cipher.open('pk-a', 'msal', sealed)).toBe('{"x":1}');
    expect(cipher.open('pk-b', 'msal', sealed)).toBeUndefined();
    expect(cipher.open('pk-a', 'other', sealed)).toBeUndefined();
  });

  test('a flipped bit, a truncated value or garbage opens nothing', () => {
    const cipher = new RowCipher([k1]);
    const bytes = Buffer.from(cipher.seal('pk', 'msal', 'secret cache'), 'base64');
    for (const at of [1, 5, 20, bytes.length - 1]) {
      const tampered = Buffer.from(bytes);
      tampered[at]! ^= 1;
      expect(cipher.open('pk', 'msal', tampered.toString('base64'))).toBeUndefined();
    }
    expect(cipher.open('pk', 'msal', bytes.subarray(0, 30).toString('base64'))).toBeUndefined();
    expect(cipher.open('pk', 'msal', 'not base64 at all')).toBeUndefined();
  });

  test('the first key seals, every key opens', () => {
    const old = new RowCipher([k1]).seal('pk', 'msal', 'c');
    const rotated = new RowCipher([k2, k1]);
    expect(rotated.open('pk', 'msal', old)).toBe('c');
    expect(rotated.sealedWithOldKey(old)).toBe(true);
    const fresh = rotated.seal('pk', 'msal', 'c');
    expect(rotated.sealedWithOldKey(fresh)).toBe(false);
    expect(new RowCipher([k1]).open('pk', 'msal', fresh)).toBeUndefined();
  });

  test('compresses when it pays, not otherwise', () => {
    const cipher = new RowCipher([k1]);
    const compressible = msalLikeCache(3);
    const flags = (sealed: string) => Buffer.from(sealed, 'base64')[1];
    const sealed = cipher.seal('pk', 'msal', compressible);
    expect(flags(sealed)).toBe(1);
    expect(cipher.open('pk', 'msal', sealed)).toBe(compressible);
    // Too small to gain a tenth from deflate: stored as it is.
    const small = cipher.seal('pk', 'msal', '{"Account":{}}');
    expect(flags(small)).toBe(0);
    expect(cipher.open('pk', 'msal', small)).toBe('{"Account":{}}');
  });

  test('the size limit is checked on the sealed value, before any write', () => {
    const cipher = new RowCipher([k1]);
    const huge = JSON.stringify({ n: randomBytes(800 * 1024).toString('base64') });
    expect(() => toEntity('pk', huge, new Date(), cipher)).toThrow(ProblemError);
    const entity = toEntity('pk', msalLikeCache(10), new Date(), cipher);
    expect(fromEntity(entity, cipher)).toBeDefined();
  });

  test('derived keys differ from the session keys they come from and from each other', () => {
    const [d1, d2] = deriveCacheKeys([k1, k2]);
    expect(Buffer.from(d1!).equals(k1)).toBe(false);
    expect(Buffer.from(d1!).equals(Buffer.from(d2!))).toBe(false);
    expect(deriveCacheKeys([k1])[0]).toEqual(d1);
  });
});

describe('RowCipher rules at their edges', () => {
  /** Printable text from a fixed generator: its entropy sets how well it deflates. */
  function text(seed: number, length: number, alphabet: number): string {
    let x = seed >>> 0;
    let out = '';
    for (let i = 0; i < length; i++) {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      out += String.fromCharCode(33 + ((x >>> 16) % alphabet));
    }
    return out;
  }
  const flags = (sealed: string) => Buffer.from(sealed, 'base64')[1];

  test('deflate is used when it saves a tenth exactly, and not when it saves less or grows the value', () => {
    const cipher = new RowCipher([k1]);
    const tenth = text(6, 100, 40);
    expect(deflateRawSync(Buffer.from(tenth)).length).toBe(90);
    expect(flags(cipher.seal('pk', 'msal', tenth))).toBe(1);
    expect(cipher.open('pk', 'msal', cipher.seal('pk', 'msal', tenth))).toBe(tenth);
    // 20 distinct letters deflate to 22 bytes: larger, stored as they are.
    const grows = 'abcdefghijklmnopqrst';
    expect(deflateRawSync(Buffer.from(grows)).length).toBe(22);
    expect(flags(cipher.seal('pk', 'msal', grows))).toBe(0);
  });

  test('a value of another format version is not read as this one, even when it authenticates', () => {
    const key = new Uint8Array(k1);
    const keyId = createHash('sha256').update(key).digest().subarray(0, 8);
    const craft = (version: number) => {
      const header = Buffer.concat([Buffer.from([version, 0]), keyId]);
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      cipher.setAAD(Buffer.concat([Buffer.from('token-cache\npk\nmsal\n'), header]));
      const body = Buffer.concat([cipher.update('{"v":1}'), cipher.final()]);
      return Buffer.concat([header, iv, body, cipher.getAuthTag()]).toString('base64');
    };
    const rowCipher = new RowCipher([k1]);
    expect(rowCipher.open('pk', 'msal', craft(1))).toBe('{"v":1}');
    expect(rowCipher.open('pk', 'msal', craft(2))).toBeUndefined();
  });
});
