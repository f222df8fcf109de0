import { METHODS_WITHOUT_BODY, downstreamUrl, findApi, forwardedRequestHeaders, validateProxyPath } from '../../shared/proxy/proxyRules';
import { ProblemError } from '../../shared/problems';

/** The proxy's path and header rules: each refusal says which rule, and the limits sit where they say. */
const api = { name: 'demo', baseUrl: 'https://api.example/v1/', scopes: ['api://demo/Data.Read'], requestAppToken: false, timeoutMs: 30_000 };

function refusal(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof ProblemError) return `${e.status} ${e.code}: ${e.detail}`;
    throw e;
  }
  return 'accepted';
}

test.each([
  ['a\\b', /Backslashes/],
  ['a%2fb', /Encoded dots, slashes and backslashes/],
  ['a\u007fb', /Control characters/],
  ['a/../b', /Dot segments/],
  ['/abs', /relative to the API/],
  ['mailto:x', /relative to the API/],
  ['x'.repeat(4097), /too long/],
])('%p is refused, saying why', (path, why) => {
  const answer = refusal(() => validateProxyPath(path));
  expect(answer).toMatch(/^400 proxy_path_invalid: /);
  expect(answer).toMatch(why);
});

test('no path is the API\'s base; 4096 characters is still a path', () => {
  expect(validateProxyPath(undefined)).toBe('');
  expect(validateProxyPath('x'.repeat(4096))).toBe('x'.repeat(4096));
});

test('a path that reaches another origin is refused even when it stays under the base path', () => {
  expect(refusal(() => downstreamUrl(api, '//evil.example/v1/x', ''))).toMatch(/^400 proxy_path_invalid: .*leaves the API/);
  expect(refusal(() => downstreamUrl(api, '../v2/x', ''))).toMatch(/leaves the API/);
});

test('an unknown API says so', () => {
  expect(refusal(() => findApi(new Map([['demo', api]]), undefined))).toMatch(/^404 api_unknown: No downstream API/);
});

test('only the headers the browser sent are forwarded, with the bearer token', () => {
  const out = forwardedRequestHeaders(new Headers({ accept: 'text/plain', 'if-none-match': '"v1"' }), 't');
  expect(Object.keys(out).sort()).toEqual(['accept', 'authorization', 'if-none-match']);
});

test('GET, HEAD and OPTIONS carry no body', () => {
  expect([...METHODS_WITHOUT_BODY].sort()).toEqual(['GET', 'HEAD', 'OPTIONS']);
});
