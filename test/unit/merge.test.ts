import { isEmptyCache, mergeSerializedCaches } from '../../shared/tokenCache/merge';

const cache = (at: Record<string, unknown>, rt: Record<string, unknown> = { r1: { secret: 'rt1' } }) =>
  JSON.stringify({ Account: { a: { username: 'ada' } }, AccessToken: at, RefreshToken: rt, IdToken: {}, AppMetadata: {} });

describe('mergeSerializedCaches', () => {
  test('keeps both writers\' new tokens', () => {
    const base = cache({ graph: { secret: 'g0' } });
    const ours = cache({ graph: { secret: 'g1' } });
    const theirs = cache({ graph: { secret: 'g0' }, demo: { secret: 'd1' } });
    const merged = JSON.parse(mergeSerializedCaches(base, ours, theirs));
    expect(merged.AccessToken).toEqual({ graph: { secret: 'g1' }, demo: { secret: 'd1' } });
  });

  test('an entry only they changed comes from them; one we removed stays removed', () => {
    const base = cache({ graph: { secret: 'g0' }, old: { secret: 'o' } });
    const ours = cache({ graph: { secret: 'g0' } });
    const theirs = cache({ graph: { secret: 'g2' }, old: { secret: 'o' } });
    const merged = JSON.parse(mergeSerializedCaches(base, ours, theirs));
    expect(merged.AccessToken).toEqual({ graph: { secret: 'g2' } });
  });

  test('isEmptyCache', () => {
    expect(isEmptyCache(JSON.stringify({ Account: {}, AccessToken: {}, RefreshToken: {}, IdToken: {} }))).toBe(true);
    expect(isEmptyCache(cache({}))).toBe(false);
  });
});
