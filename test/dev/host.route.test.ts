import { buildRouteTable, compareRoutePrecedence, compileRoute, decodePathValue, findRoute, matchRoute, normalizePath } from '../../dev/host';

const match = (template: string, path: string) => matchRoute(compileRoute(template), path);

describe('compileRoute / matchRoute', () => {
  test('literals match case-insensitively, a trailing slash is ignored', () => {
    expect(match('api/login', 'API/Login')).toEqual({});
    expect(match('api/login', 'api/login/')).toEqual({});
    expect(match('api/login', 'api/login/x')).toBeNull();
    expect(match('api/login', 'api/logi')).toBeNull();
    expect(match('api/login', 'api')).toBeNull();
  });

  test('parameters and optional parameters', () => {
    expect(match('api/items/{id}', 'api/items/42')).toEqual({ id: '42' });
    expect(match('api/items/{id}', 'api/items')).toBeNull();
    expect(match('api/items/{id}', 'api/items/')).toBeNull();
    expect(match('api/items/{id?}', 'api/items')).toEqual({});
    expect(match('api/items/{id?}', 'api/items/7')).toEqual({ id: '7' });
    expect(match('api/{a}/{b}', 'api//x')).toBeNull();
  });

  test('catch-all takes the rest, may be empty (then absent), keeps inner slashes', () => {
    const route = compileRoute('api/proxy/{api}/{*path}');
    expect(matchRoute(route, 'api/proxy/graph/v1.0/me')).toEqual({ api: 'graph', path: 'v1.0/me' });
    expect(matchRoute(route, 'api/proxy/graph')).toEqual({ api: 'graph' });
    expect(matchRoute(route, 'api/proxy/graph/')).toEqual({ api: 'graph' });
    expect(matchRoute(route, 'api/proxy/graph/../x')).toEqual({ api: 'graph', path: '../x' });
    expect(matchRoute(route, 'api/proxy')).toBeNull();
  });

  test('values are percent-decoded except %2F', () => {
    expect(match('api/p/{*path}', 'api/p/a%2Fb/c%20d')).toEqual({ path: 'a%2Fb/c d' });
    expect(match('api/p/{*path}', 'api/p/%2e%2e/x')).toEqual({ path: '../x' });
    expect(match('api/p/{x}', 'api/p/caf%C3%A9')).toEqual({ x: 'café' });
    expect(match('api/p/{x}', 'api/p/a+b')).toEqual({ x: 'a+b' });
    expect(match('api/P%41TH/{x}', 'api/PAth/1')).toBeNull(); // literal templates are not decoded
    expect(match('api/path/{x}', 'api/p%61th/1')).toEqual({ x: '1' });
  });

  test('decodePathValue leaves %2F (any case) and broken escapes alone', () => {
    expect(decodePathValue('a%2fb%2Fc')).toBe('a%2fb%2Fc');
    expect(decodePathValue('%5C%2e')).toBe('\\.');
    expect(decodePathValue('%FF%zz')).toBe('%FF%zz');
    expect(decodePathValue('100%')).toBe('100%');
  });

  test('refuses templates the host would refuse', () => {
    expect(() => compileRoute('api/{*a}/b')).toThrow(/catch-all/);
    expect(() => compileRoute('api/{a?}/b')).toThrow(/optional/);
    expect(() => compileRoute('api/{a}.{b}')).toThrow(/mixes/);
    expect(() => compileRoute('api/{a}/{A}')).toThrow(/twice/);
  });

  test('constraints and defaults are refused (no route uses them)', () => {
    expect(() => compileRoute('api/{id:int}')).toThrow(/not supported/);
    expect(() => compileRoute('api/{id=first}')).toThrow(/not supported/);
    expect(() => compileRoute('api/{id:int?}')).toThrow(/not supported/);
  });

  test('precedence: literal, parameter, catch-all', () => {
    const order = ['{*all}', '{x}', 'me'].map(compileRoute).sort(compareRoutePrecedence).map((r) => r.template);
    expect(order).toEqual(['me', '{x}', '{*all}']);
  });
});

describe('normalizePath (Kestrel: decode, then remove dot segments)', () => {
  test.each([
    ['/api/proxy/demo/a/%2e%2e/x', '/api/proxy/demo/x'],
    ['/api/proxy/demo/a/%2E%2e/x', '/api/proxy/demo/x'],
    ['/api/proxy/graph/../../secret', '/api/secret'],
    ['/a/./b', '/a/b'],
    ['/a/%2e/b', '/a/b'],
    ['/a/.%2e/b', '/b'],
    ['/../../x', '/x'],
    ['/a/b/..', '/a/'],
    ['/a/b/.', '/a/b/'],
    ['/', '/'],
    ['/a//b', '/a//b'],
    ['/a/...', '/a/...'],
    ['/a%2F..%2Fb', '/a%2F..%2Fb'],
    ['/a/%252e%252e/b', '/a/%252e%252e/b'],
    ['/a/x%20y/../z%5C', '/a/z%5C'],
  ])('%s -> %s', (raw, normalized) => {
    expect(normalizePath(raw)).toBe(normalized);
  });
});

describe('route table', () => {
  const handler = () => ({});
  const table = buildRouteTable(
    [
      { name: 'any', options: { handler, route: '{*rest}', methods: ['GET'] } },
      { name: 'me', options: { handler, methods: ['GET'] } },
      { name: 'login', options: { handler } },
    ],
    'api',
  );

  test('the most specific route wins regardless of registration order', () => {
    expect(findRoute(table, 'GET', '/api/me')?.entry.name).toBe('me');
    expect(findRoute(table, 'GET', '/api/other/x')).toMatchObject({ entry: { name: 'any' }, params: { rest: 'other/x' } });
  });

  test('methods default to GET and POST; another method is a miss', () => {
    expect(findRoute(table, 'POST', '/api/login')?.entry.name).toBe('login');
    expect(findRoute(table, 'DELETE', '/api/login')).toBeNull();
    expect(findRoute(table, 'POST', '/api/me')).toBeNull();
  });

  test('routes live under the prefix; an empty prefix serves from the root', () => {
    expect(findRoute(table, 'GET', '/me')).toBeNull();
    const bare = buildRouteTable([{ name: 'me', options: { handler } }], '');
    expect(findRoute(bare, 'GET', '/me')?.entry.name).toBe('me');
  });

  test('duplicate function names are refused', () => {
    expect(() => buildRouteTable([{ name: 'a', options: { handler } }, { name: 'A', options: { handler } }])).toThrow(/twice/);
  });
});
