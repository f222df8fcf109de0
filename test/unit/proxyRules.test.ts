import { downstreamUrl, findApi, forwardedRequestHeaders, returnedResponseHeaders, validateProxyPath } from '../../shared/proxy/proxyRules';
import { ProblemError } from '../../shared/problems';

const api = { name: 'demo', baseUrl: 'https://api.example/v1/', scopes: ['api://demo/Data.Read'], requestAppToken: false, timeoutMs: 30_000 };

function code(fn: () => unknown): string | undefined {
  try {
    fn();
    return undefined;
  } catch (e) {
    return e instanceof ProblemError ? `${e.status} ${e.code}` : String(e);
  }
}

describe('validateProxyPath', () => {
  test.each(['..', 'a/../b', '../secret', './a', 'a/%2e%2e/b', 'a%2Fb', 'a%5Cb', 'a\\b', '%2E', '/abs', 'https://evil.example/x', 'a/\u0000b'])('refuses %p', (path) => {
    expect(code(() => validateProxyPath(path))).toBe('400 proxy_path_invalid');
  });

  test.each(['..;', '..;/secret', 'a/..;x=1/b', '.;', 'a/.;jsessionid=1/b', 'a/..;;/b'])('refuses a dot segment with path parameters %p', (path) => {
    expect(code(() => validateProxyPath(path))).toBe('400 proxy_path_invalid');
  });

  test('keeps segments that only look alike', () => {
    expect(validateProxyPath('a/...;x/b')).toBe('a/...;x/b');
    expect(validateProxyPath('a;b/c')).toBe('a;b/c');
  });

  test('re-encodes segments and keeps legal characters', () => {
    expect(validateProxyPath('users/a b/files')).toBe('users/a%20b/files');
    expect(validateProxyPath("me/drive/root:/folder:/children")).toBe('me/drive/root:/folder:/children');
    expect(validateProxyPath('')).toBe('');
    expect(validateProxyPath('q?x=1')).toBe('q%3Fx%3D1'.replace('%3D', '='));
  });
});

describe('downstreamUrl', () => {
  test('stays under the base URL and keeps the query', () => {
    expect(downstreamUrl(api, 'items/1', '?a=1').href).toBe('https://api.example/v1/items/1?a=1');
  });
  test('a path that would leave the base is refused even if it got past the checks', () => {
    expect(code(() => downstreamUrl(api, '../admin', ''))).toBe('400 proxy_path_invalid');
  });
});

describe('findApi', () => {
  test('is case-insensitive and 404s unknown names', () => {
    const apis = new Map([['demo', api]]);
    expect(findApi(apis, 'DEMO')).toBe(api);
    expect(code(() => findApi(apis, 'other'))).toBe('404 api_unknown');
  });
});

describe('headers', () => {
  test('never forwards Cookie or the browser Authorization', () => {
    const out = forwardedRequestHeaders(new Headers({ cookie: 'a=b', authorization: 'Basic x', accept: 'application/json', 'x-csrf': '1' }), 'tok');
    expect(out).toEqual({ authorization: 'Bearer tok', accept: 'application/json' });
  });
  test('never returns Set-Cookie or hop-by-hop headers', () => {
    const out = returnedResponseHeaders(new Headers({ 'set-cookie': 'x=1', 'content-type': 'application/json', connection: 'close', 'access-control-allow-origin': '*' }));
    expect(out).toEqual({ 'content-type': 'application/json' });
  });
});
