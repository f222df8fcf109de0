import { randomBytes } from 'node:crypto';
import { deriveCacheKeys, RowCipher } from '../../shared/tokenCache/rowCipher';
import { isEmptyCache, mergeSerializedCaches } from '../../shared/tokenCache/merge';
import { checkCacheShape } from '../../shared/tokenCache/cacheShape';

/** Edges of the row's cache: key rules and limits of the cipher, odd inputs to the merge, the shape check. */
const k1 = new Uint8Array(randomBytes(32));

describe('RowCipher keys and limits', () => {
  test('keys: at least one, each 32 bytes', () => {
    expect(() => new RowCipher([])).toThrow(/32 bytes, at least one/);
    expect(() => new RowCipher([new Uint8Array(16)])).toThrow(/32 bytes/);
    expect(() => new RowCipher([k1, new Uint8Array(31)])).toThrow(/32 bytes/);
    expect(() => new RowCipher([k1])).not.toThrow();
  });

  test('cache keys derived from session keys are fixed by the session key (rows written before stay readable)', () => {
    const [derived] = deriveCacheKeys([new Uint8Array(32).fill(7)]);
    expect(Buffer.from(derived!).toString('hex')).toBe('90c204e06f66183d62e3e59215c0baf2ec08e2aa188b9e389c763f98ca2b39a1');
    expect(deriveCacheKeys([k1, new Uint8Array(32).fill(7)])).toHaveLength(2);
  });

  test('never compressing leaves the cache as it is, even when deflate would pay', () => {
    const cipher = new RowCipher([k1]);
    const cache = JSON.stringify({ AccessToken: Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`k${i}`, { secret: 'same' }])) });
    const auto = Buffer.from(cipher.seal('pk', 'msal', cache), 'base64');
    const never = Buffer.from(cipher.seal('pk', 'msal', cache, 'never'), 'base64');
    expect(auto[1]).toBe(1);
    expect(never[1]).toBe(0);
    // version, flags, key id, iv, the cache itself, tag
    expect(never.length).toBe(1 + 1 + 8 + 12 + Buffer.byteLength(cache) + 16);
    expect(cipher.open('pk', 'msal', never.toString('base64'))).toBe(cache);
  });

  test('a value of another version, too short to hold a tag, or under an unknown key opens nothing', () => {
    const cipher = new RowCipher([k1]);
    const sealed = Buffer.from(cipher.seal('pk', 'msal', 'c'), 'base64');
    const otherVersion = Buffer.from(sealed);
    otherVersion[0] = 2;
    expect(cipher.open('pk', 'msal', otherVersion.toString('base64'))).toBeUndefined();
    // Header, iv and tag, with an empty ciphertext: a well-formed empty cache opens.
    const empty = Buffer.from(cipher.seal('pk', 'msal', '', 'never'), 'base64');
    expect(empty.length).toBe(1 + 1 + 8 + 12 + 16);
    expect(cipher.open('pk', 'msal', empty.toString('base64'))).toBe('');
    expect(cipher.open('pk', 'msal', empty.subarray(0, empty.length - 1).toString('base64'))).toBeUndefined();
    const unknownKey = Buffer.from(sealed);
    unknownKey[2]! ^= 0xff;
    expect(cipher.open('pk', 'msal', unknownKey.toString('base64'))).toBeUndefined();
  });

  test('a deflated value that would inflate past 4 MiB is refused (a decompression bomb)', () => {
    const cipher = new RowCipher([k1]);
    const bomb = cipher.seal('pk', 'msal', '0'.repeat(5 * 1024 * 1024));
    expect(bomb.length).toBeLessThan(20_000);
    expect(cipher.open('pk', 'msal', bomb)).toBeUndefined();
    const fits = '0'.repeat(3 * 1024 * 1024);
    expect(cipher.open('pk', 'msal', cipher.seal('pk', 'msal', fits))).toBe(fits);
  });
});

describe('merge edges', () => {
  const cache = JSON.stringify({ Account: { a: { n: 1 } }, RefreshToken: { r: { s: 1 } } });

  test('no base (a row created meanwhile): ours and theirs are both kept', () => {
    const merged = JSON.parse(mergeSerializedCaches(undefined, cache, JSON.stringify({ RefreshToken: { t: { s: 2 } } })));
    expect(merged).toEqual({ Account: { a: { n: 1 } }, RefreshToken: { r: { s: 1 }, t: { s: 2 } } });
    expect(JSON.parse(mergeSerializedCaches('', cache, '{}'))).toEqual(JSON.parse(cache));
  });

  test('JSON that is not an object counts as an empty cache', () => {
    for (const odd of ['null', '"ab"', '5', 'true']) {
      expect(JSON.parse(mergeSerializedCaches(odd, cache, odd))).toEqual(JSON.parse(cache));
    }
  });

  test.each(['Account', 'RefreshToken', 'AccessToken', 'IdToken'])('a cache holding only a %s entry is not empty', (section) => {
    expect(isEmptyCache(JSON.stringify({ [section]: { x: {} } }))).toBe(false);
  });

  test('app metadata alone, or no sections at all, is empty', () => {
    expect(isEmptyCache(JSON.stringify({ AppMetadata: { m: {} } }))).toBe(true);
    expect(isEmptyCache('{}')).toBe(true);
  });
});

describe('checkCacheShape edges', () => {
  test.each([
    ['an account without home_account_id', { Account: { a: { environment: 'e' } } }],
    ['an account without environment', { Account: { a: { home_account_id: 'h' } } }],
    ['app metadata without client_id', { AppMetadata: { m: { environment: 'e' } } }],
    ['app metadata without environment', { AppMetadata: { m: { client_id: 'c' } } }],
  ])('%s is the wrong shape', (_name, cache) => {
    expect(checkCacheShape(JSON.stringify(cache))).toEqual({ usable: false, reason: 'wrong_shape' });
  });

  test('extra fields and sections MSAL may add are kept usable', () => {
    expect(checkCacheShape(JSON.stringify({ Account: { a: { home_account_id: 'h', environment: 'e', username: 'u' } }, AppMetadata: { m: { client_id: 'c', environment: 'e', family_id: '1' } }, Future: {} }))).toEqual({ usable: true });
  });
});
