import { createHash } from 'node:crypto';
import { fromEntity, linkPartitionKey, partitionKeyFor, toEntity } from '../../shared/tokenCache/tableStore';
import { RowCipher } from '../../shared/tokenCache/rowCipher';
import { ProblemError } from '../../shared/problems';

describe('token cache entity', () => {
  test('splits a large cache across 32K-character properties and joins it back', () => {
    const cache = 'x'.repeat(100_000) + 'é'.repeat(10);
    const entity = toEntity('pk', cache, new Date());
    expect(entity['Chunks']).toBe(4);
    for (let i = 0; i < 4; i++) expect((entity[`Cache${i}`] as string).length).toBeLessThanOrEqual(32 * 1024);
    expect(fromEntity(entity)).toBe(cache);
  });

  test('refuses a cache over the entity size limit measured in UTF-8', () => {
    const cache = '€'.repeat(400_000); // 400K characters, 1.2 MB in UTF-8
    expect(() => toEntity('pk', cache, new Date())).toThrow(ProblemError);
  });

  test('a damaged row reads as no cache', () => {
    expect(fromEntity({ Chunks: 2, Cache0: 'a' })).toBeUndefined();
    expect(fromEntity({})).toBeUndefined();
  });

  test('partition keys are stable, key-safe hashes', () => {
    const pk = partitionKeyFor('uid.utid');
    expect(pk).toBe(partitionKeyFor('uid.utid'));
    expect(pk).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(pk).not.toBe(partitionKeyFor('uid.utid2'));
  });
});

describe('the row layout other versions of the app read and write', () => {
  const key = new Uint8Array(32).fill(3);

  test('960 KiB of sealed text is the limit: 30 properties of 32K characters fit, one character more does not', () => {
    const fits = 'x'.repeat(30 * 32 * 1024);
    const entity = toEntity('pk', fits, new Date());
    expect(entity['Chunks']).toBe(30);
    expect(fromEntity(entity)).toBe(fits);
    expect(() => toEntity('pk', `${fits}x`, new Date())).toThrow(expect.objectContaining({ status: 507, code: 'token_cache_too_large' }));
    // Measured in UTF-8: 960 KiB of bytes in fewer characters is the limit too.
    const wide = 'é'.repeat((960 * 1024) / 2);
    expect(toEntity('pk', wide, new Date())['Chunks']).toBe(15);
    expect(() => toEntity('pk', `${wide}x`, new Date())).toThrow(ProblemError);
  });

  test('a row names its chunk count, format, version and expiry beside the chunks', () => {
    const expires = new Date(1_900_000_000_000);
    expect(toEntity('pk', 'abc', expires)).toEqual({ partitionKey: 'pk', rowKey: 'msal', Chunks: 1, ExpiresOn: expires, Version: 1, Format: 'clear', Cache0: 'abc' });
    expect(toEntity('pk', '', expires)).toMatchObject({ Chunks: 0, Format: 'clear' });
    const sealed = toEntity('pk', 'abc', expires, new RowCipher([key]));
    expect(sealed).toMatchObject({ Chunks: 1, Format: 'A256GCM', Version: 1 });
    expect(sealed['Cache0']).not.toContain('abc');
  });

  test('a sealed row opens only with a cipher and only under its own partition key', () => {
    const cipher = new RowCipher([key]);
    const sealed = toEntity('pk', '{"a":1}', new Date(), cipher);
    expect(fromEntity(sealed, cipher)).toBe('{"a":1}');
    expect(fromEntity(sealed)).toBeUndefined();
    expect(fromEntity({ ...sealed, partitionKey: 'other' }, cipher)).toBeUndefined();
    expect(fromEntity({ ...sealed, partitionKey: undefined }, cipher)).toBeUndefined();
  });

  test('a row in clear is read whether it names its format or predates the field; an unknown format is not', () => {
    const clear = toEntity('pk', '{"c":1}', new Date());
    expect(fromEntity(clear)).toBe('{"c":1}');
    expect(fromEntity({ ...clear, Format: undefined })).toBe('{"c":1}');
    expect(fromEntity({ ...clear, Format: 'rot13' })).toBeUndefined();
  });

  test('a chunk count that is not a count from 0 to 30, or a chunk that is not text, is a damaged row', () => {
    expect(fromEntity({ Chunks: 0 })).toBe('');
    expect(fromEntity({ Chunks: -1 })).toBeUndefined();
    expect(fromEntity({ Chunks: '1', Cache0: 'a' })).toBeUndefined();
    expect(fromEntity({ Chunks: 31, ...Object.fromEntries(Array.from({ length: 31 }, (_, i) => [`Cache${i}`, 'a'])) })).toBeUndefined();
    expect(fromEntity({ Chunks: 30, ...Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`Cache${i}`, 'a'])) })).toBe('a'.repeat(30));
    expect(fromEntity({ Chunks: 2, Cache0: 'a', Cache1: 5 })).toBeUndefined();
    expect(fromEntity({ Chunks: 2, Cache0: 'a', Cache1: 'b', Cache2: 'ignored' })).toBe('ab');
  });

  test('partition keys of accounts and links are fixed by what they name (rows written before stay findable)', () => {
    expect(partitionKeyFor('uid.utid')).toBe(createHash('sha256').update('uid.utid').digest('base64url'));
    expect(linkPartitionKey('sid', 'S1', 'https://idp')).toBe(`sid-${createHash('sha256').update('sid\nS1').digest('base64url')}`);
    // Entra's front-channel logout carries no issuer: a sid link does not depend on it.
    expect(linkPartitionKey('sid', 'S1', 'https://other')).toBe(linkPartitionKey('sid', 'S1', 'https://idp'));
    expect(linkPartitionKey('sub', 'U1', 'https://idp')).toBe(`sub-${createHash('sha256').update('sub\nhttps://idp\nU1').digest('base64url')}`);
    expect(linkPartitionKey('sub', 'U1', 'https://other')).not.toBe(linkPartitionKey('sub', 'U1', 'https://idp'));
  });
});
