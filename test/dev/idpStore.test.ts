import { ExpiringMap } from '../../dev/idp/store';
import { resolveScopes, ScopeError } from '../../dev/idp/scopes';

describe('ExpiringMap', () => {
  test('entries expire at their time to live, not a moment before', () => {
    let now = 1_000_000;
    const map = new ExpiringMap<number>(20_000, 10, () => now);
    map.set('a', 1);
    map.set('b', 2, 60_000);
    now += 19_999;
    expect(map.get('a')).toBe(1);
    expect(map.list()).toEqual([['a', 1], ['b', 2]]);
    now += 1;
    expect(map.get('a')).toBeUndefined();
    expect(map.values()).toEqual([2]);
    now += 40_000;
    expect(map.values()).toEqual([]);
    expect(map.get('b')).toBeUndefined();
  });

  test('the oldest entries go first when the cap is reached', () => {
    const map = new ExpiringMap<number>(60_000, 3);
    for (let i = 0; i < 10; i++) map.set(`k${i}`, i);
    expect(map.values()).toEqual([7, 8, 9]);
    expect(map.get('k0')).toBeUndefined();
  });
});

describe('resolveScopes', () => {
  const apis = [{ audience: 'api://a', scopes: ['api://a/Read', 'api://a/Write'] }, { audience: 'api://b', scopes: ['api://b/Read'] }];

  test('groups API scopes by resource in request order', () => {
    const resolved = resolveScopes(['openid', 'api://b/Read', 'api://a/.default', 'api://a/Read'], apis);
    expect(resolved.oidc).toEqual(['openid']);
    expect(resolved.resources.map((r) => [r.api.audience, r.scopes, r.defaultScope])).toEqual([
      ['api://b', ['api://b/Read'], false],
      ['api://a', ['api://a/Read'], true],
    ]);
  });

  test('refuses unknown scopes and unknown resources', () => {
    expect(() => resolveScopes(['api://a/Delete'], apis)).toThrow(ScopeError);
    expect(() => resolveScopes(['api://c/.default'], apis)).toThrow(/AADSTS70011/);
    expect(() => resolveScopes(['User.Read'], apis)).toThrow(ScopeError);
  });
});
