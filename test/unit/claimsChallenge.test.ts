import { claimsChallengeOf, claimsOfError, loginUrlWithClaims, parseClaimsRequest, tokenRejectedBy } from '../../shared/auth/claimsChallenge';

const claims = { access_token: { nbf: { essential: true, value: '1700000000' } } };
const encoded = Buffer.from(JSON.stringify(claims)).toString('base64');

test('an Entra CAE challenge: Bearer, insufficient_claims, base64 claims', () => {
  const header = `Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", client_id="00000003-0000-0000-c000-000000000000", error="insufficient_claims", claims="${encoded}"`;
  expect(JSON.parse(claimsChallengeOf(401, header)!)).toEqual(claims);
  // Plain JSON claims, quoted with escapes, are read too.
  expect(JSON.parse(claimsChallengeOf(401, `Bearer error="insufficient_claims", claims="{\\"access_token\\":{}}"`)!)).toEqual({ access_token: {} });
});

test('anything else is not a claims challenge', () => {
  expect(claimsChallengeOf(403, `Bearer error="insufficient_claims", claims="${encoded}"`)).toBeUndefined();
  expect(claimsChallengeOf(401, 'Bearer error="invalid_token"')).toBeUndefined();
  expect(claimsChallengeOf(401, `Basic realm="x", error="insufficient_claims", claims="${encoded}"`)).toBeUndefined();
  expect(claimsChallengeOf(401, 'Bearer error="insufficient_claims", claims="bm90IGpzb24="')).toBeUndefined();
  expect(claimsChallengeOf(401, undefined)).toBeUndefined();
});

test('the claims parameter must be a small JSON object', () => {
  expect(parseClaimsRequest(' {"id_token":{}} ')).toBe('{"id_token":{}}');
  expect(parseClaimsRequest(undefined)).toBeUndefined();
  for (const bad of ['[]', '"x"', 'null', '{', `{"a":"${'x'.repeat(3000)}"}`]) {
    expect(() => parseClaimsRequest(bad)).toThrow(expect.objectContaining({ code: 'claims_invalid', status: 400 }));
  }
});

test('loginUrl carries the claims beside its returnUrl and scopes', () => {
  const url = new URL(loginUrlWithClaims('/api/login?returnUrl=%2Fapi%2F&scopes=api%3A%2F%2Fa%2FRead', '{"a":1}'), 'http://x');
  expect(url.pathname).toBe('/api/login');
  expect(Object.fromEntries(url.searchParams)).toEqual({ returnUrl: '/api/', scopes: 'api://a/Read', claims: '{"a":1}' });
  expect(loginUrlWithClaims('/api/login?returnUrl=%2F', undefined)).toBe('/api/login?returnUrl=%2F');
});

test('a refused token: 401 with a Bearer challenge whose error is invalid_token or absent (Microsoft Graph sends none)', () => {
  expect(tokenRejectedBy(401, 'Bearer realm="demo-api", error="invalid_token", error_description="revoked"')).toBe(true);
  expect(tokenRejectedBy(401, 'Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", client_id="00000003-0000-0000-c000-000000000000"')).toBe(true);
  expect(tokenRejectedBy(401, 'Bearer')).toBe(true);
  expect(tokenRejectedBy(401, 'Basic realm="x", Bearer error="invalid_token"')).toBe(true);
  expect(tokenRejectedBy(401, 'bearer error=invalid_token')).toBe(true);
});

test('not a refused token: another status, another error, another scheme, no challenge', () => {
  expect(tokenRejectedBy(403, 'Bearer error="invalid_token"')).toBe(false);
  expect(tokenRejectedBy(401, 'Bearer error="insufficient_scope"')).toBe(false);
  expect(tokenRejectedBy(401, 'Bearer error="invalid_request"')).toBe(false);
  expect(tokenRejectedBy(401, `Bearer error="insufficient_claims", claims="${encoded}"`)).toBe(false);
  expect(tokenRejectedBy(401, 'Basic realm="x"')).toBe(false);
  expect(tokenRejectedBy(401, 'Bearerish error="invalid_token"')).toBe(false);
  expect(tokenRejectedBy(401, undefined)).toBe(false);
  expect(tokenRejectedBy(401, '')).toBe(false);
});

describe('claims requests, challenges and refusals, edge by edge', () => {
  test('the claims parameter: absent or empty is none; at most 2048 characters; a JSON object, sent on compacted', () => {
    expect(parseClaimsRequest(null)).toBeUndefined();
    expect(parseClaimsRequest('')).toBeUndefined();
    const padded = `{"a":"${'x'.repeat(2048 - 8)}"}`;
    expect(padded).toHaveLength(2048);
    expect(parseClaimsRequest(padded)).toBe(padded);
    expect(() => parseClaimsRequest(`${padded} `)).toThrow(expect.objectContaining({ detail: 'The claims parameter must be a JSON object of at most 2048 characters.' }));
    expect(() => parseClaimsRequest('{')).toThrow(expect.objectContaining({ detail: 'The claims parameter must be a JSON object.' }));
    expect(() => parseClaimsRequest('[1]')).toThrow(expect.objectContaining({ detail: 'The claims parameter must be a JSON object.' }));
    expect(() => parseClaimsRequest('7')).toThrow(expect.objectContaining({ code: 'claims_invalid' }));
    expect(parseClaimsRequest('{ "id_token" : { "acrs" : { "essential" : true } } }')).toBe('{"id_token":{"acrs":{"essential":true}}}');
  });

  test('challenge parameters: names in any case, values quoted or not, the first of a repeated name wins', () => {
    expect(tokenRejectedBy(401, 'Bearer ERROR="invalid_token"')).toBe(true);
    expect(tokenRejectedBy(401, 'Bearer error="invalid_token", error="insufficient_scope"')).toBe(true);
    expect(tokenRejectedBy(401, 'Bearer error="insufficient_scope", error="invalid_token"')).toBe(false);
    expect(tokenRejectedBy(401, 'Bearer error=insufficient_scope')).toBe(false);
    expect(tokenRejectedBy(401, 'Bearer x-ms-id2="a", error_uri="b", error="invalid_token"')).toBe(true);
    expect(tokenRejectedBy(401, 'Bearer realm="a \\"quoted\\" realm", error="insufficient_scope"')).toBe(false);
    expect(tokenRejectedBy(401, 'Bearer,Basic realm="x"')).toBe(true);
    expect(tokenRejectedBy(401, 'Basic realm="x",Bearer error="insufficient_scope"')).toBe(false);
    expect(tokenRejectedBy(401, 'Basic realm="Bearer"')).toBe(false);
    expect(tokenRejectedBy(401, 'Bearer  error = "invalid_token" ')).toBe(true);
  });

  test('a claims challenge: plain JSON (spaces before it too) or base64, insufficient_claims in any case of the name, and claims present', () => {
    expect(claimsChallengeOf(401, `Bearer ERROR="insufficient_claims", CLAIMS="${encoded}"`)).toBe(JSON.stringify(claims));
    expect(claimsChallengeOf(401, 'Bearer error=insufficient_claims, claims=eyJhIjoxfQ==')).toBe('{"a":1}');
    expect(claimsChallengeOf(401, 'Bearer error="insufficient_claims", claims=" {\\"a\\": 1}"')).toBe('{"a":1}');
    expect(claimsChallengeOf(401, 'Bearer error="insufficient_claims"')).toBeUndefined();
    expect(claimsChallengeOf(401, 'Bearer error="insufficient_claims", claims=""')).toBeUndefined();
    expect(claimsChallengeOf(401, '')).toBeUndefined();
    expect(claimsChallengeOf(401, 'Basic realm="x"')).toBeUndefined();
    const huge = Buffer.from(JSON.stringify({ a: 'x'.repeat(3000) })).toString('base64');
    expect(claimsChallengeOf(401, `Bearer error="insufficient_claims", claims="${huge}"`)).toBeUndefined();
  });

  test('claims a token endpoint sent with its refusal: a JSON object only, compacted', () => {
    expect(claimsOfError({ claims: '{ "a" : 1 }' })).toBe('{"a":1}');
    expect(claimsOfError({ claims: '' })).toBeUndefined();
    expect(claimsOfError({ claims: 5 })).toBeUndefined();
    expect(claimsOfError({ claims: '[1]' })).toBeUndefined();
    expect(claimsOfError({ claims: '{' })).toBeUndefined();
    expect(claimsOfError({})).toBeUndefined();
    expect(claimsOfError(null)).toBeUndefined();
    expect(claimsOfError(undefined)).toBeUndefined();
  });

  test('loginUrl: no claims or empty claims leave it as it is; claims replace earlier claims', () => {
    expect(loginUrlWithClaims('/api/login?returnUrl=%2F', '')).toBe('/api/login?returnUrl=%2F');
    expect(loginUrlWithClaims('/api/login?claims=old&returnUrl=%2F', '{"a":1}')).toBe('/api/login?claims=%7B%22a%22%3A1%7D&returnUrl=%2F');
    expect(loginUrlWithClaims('/api/login', '{}')).toBe('/api/login?claims=%7B%7D');
  });
});
