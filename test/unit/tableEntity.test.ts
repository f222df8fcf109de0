import { fromEntity, partitionKeyFor, toEntity } from '../../shared/tokenCache/tableStore';
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
