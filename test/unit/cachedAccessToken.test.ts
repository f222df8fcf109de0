import { cachedAccessToken, forgetTokenLocations, learnTokenLocation, MSAL_REFRESH_MARGIN_SECONDS } from '../../shared/tokenCache/cachedAccessToken';
import type { CacheRow } from '../../shared/tokenCache/tableStore';

const HOME = 'uid.utid';
const NOW = 1_900_000_000;
const query = { partitionKey: 'pk', homeAccountId: HOME, clientId: 'client', authorityUrl: 'https://idp.example/tenant', scopes: ['api://demo/Data.Read'] };

function accessToken(secret: string, overrides: Record<string, string | undefined> = {}): Record<string, string> {
  const entry: Record<string, string | undefined> = {
    home_account_id: HOME,
    environment: 'idp.example',
    credential_type: 'AccessToken',
    client_id: 'client',
    secret,
    realm: 'tenant',
    target: 'api://demo/Data.Read openid profile',
    cached_at: String(NOW - 60),
    expires_on: String(NOW + 3600),
    extended_expires_on: String(NOW + 3600),
    token_type: 'Bearer',
    ...overrides,
  };
  return Object.fromEntries(Object.entries(entry).filter(([, v]) => v !== undefined)) as Record<string, string>;
}

function cacheWith(...tokens: Record<string, string>[]): string {
  return JSON.stringify({
    Account: { a: { home_account_id: HOME, environment: 'idp.example', realm: 'tenant' } },
    AccessToken: Object.fromEntries(tokens.map((t, i) => [`at-${i}`, t])),
    RefreshToken: {},
    IdToken: {},
    AppMetadata: {},
  });
}

function row(cache: string): CacheRow {
  return { cache, etag: 'W/"1"', sessions: {}, memo: {} };
}

beforeEach(() => forgetTokenLocations());

describe('a valid access token taken from the row without MSAL', () => {
  test('only once MSAL has picked a token for this account and these scopes in this process', () => {
    const cache = cacheWith(accessToken('AT1'));
    expect(cachedAccessToken(row(cache), { ...query, now: NOW })).toBeUndefined();
    learnTokenLocation(cache, 'AT1', query);
    expect(cachedAccessToken(row(cache), { ...query, now: NOW })).toBe('AT1');
    // Other scopes, another authority or another account were not learnt.
    expect(cachedAccessToken(row(cache), { ...query, scopes: ['api://other/x'], now: NOW })).toBeUndefined();
    expect(cachedAccessToken(row(cache), { ...query, authorityUrl: 'https://idp.example/other', now: NOW })).toBeUndefined();
  });

  test('scopes compare as MSAL compares them: case-insensitive, OpenID Connect scopes aside', () => {
    const cache = cacheWith(accessToken('AT1'));
    learnTokenLocation(cache, 'AT1', query);
    expect(cachedAccessToken(row(cache), { ...query, scopes: ['API://demo/data.read', 'openid'], now: NOW })).toBe('AT1');
  });

  test('a token within MSAL\'s refresh margin of its expiry is refreshed, not used', () => {
    const edge = cacheWith(accessToken('AT1', { expires_on: String(NOW + MSAL_REFRESH_MARGIN_SECONDS) }));
    learnTokenLocation(edge, 'AT1', query);
    expect(cachedAccessToken(row(edge), { ...query, now: NOW })).toBe('AT1');
    const inMargin = cacheWith(accessToken('AT1', { expires_on: String(NOW + MSAL_REFRESH_MARGIN_SECONDS - 1) }));
    expect(cachedAccessToken(row(inMargin), { ...query, now: NOW })).toBeUndefined();
    const expired = cacheWith(accessToken('AT1', { expires_on: String(NOW - 1) }));
    expect(cachedAccessToken(row(expired), { ...query, now: NOW })).toBeUndefined();
  });

  test('refresh_on passed, a clock turned back, a PoP or claims-bound token: MSAL decides', () => {
    learnTokenLocation(cacheWith(accessToken('AT1')), 'AT1', query);
    expect(cachedAccessToken(row(cacheWith(accessToken('AT1', { refresh_on: String(NOW - 1) }))), { ...query, now: NOW })).toBeUndefined();
    expect(cachedAccessToken(row(cacheWith(accessToken('AT1', { refresh_on: String(NOW + 10) }))), { ...query, now: NOW })).toBe('AT1');
    expect(cachedAccessToken(row(cacheWith(accessToken('AT1', { cached_at: String(NOW + 5) }))), { ...query, now: NOW })).toBeUndefined();
    expect(cachedAccessToken(row(cacheWith(accessToken('AT1', { token_type: 'pop' }))), { ...query, now: NOW })).toBeUndefined();
    expect(cachedAccessToken(row(cacheWith(accessToken('AT1', { requestedClaimsHash: 'abc' }))), { ...query, now: NOW })).toBeUndefined();
  });

  test('two candidates, none, another realm, or no account in the row: MSAL decides', () => {
    learnTokenLocation(cacheWith(accessToken('AT1')), 'AT1', query);
    expect(cachedAccessToken(row(cacheWith(accessToken('AT1'), accessToken('AT2'))), { ...query, now: NOW })).toBeUndefined();
    expect(cachedAccessToken(row(cacheWith()), { ...query, now: NOW })).toBeUndefined();
    expect(cachedAccessToken(row(cacheWith(accessToken('AT1', { realm: 'other' }))), { ...query, now: NOW })).toBeUndefined();
    expect(cachedAccessToken(row(cacheWith(accessToken('AT1', { home_account_id: 'someone.else' }))), { ...query, now: NOW })).toBeUndefined();
    const noAccount = JSON.stringify({ ...JSON.parse(cacheWith(accessToken('AT1'))), Account: {} });
    expect(cachedAccessToken(row(noAccount), { ...query, now: NOW })).toBeUndefined();
    expect(cachedAccessToken(row('not json'), { ...query, now: NOW })).toBeUndefined();
  });

  test('the row as read decides: a new version of the row (another instance refreshed) gives its token', () => {
    learnTokenLocation(cacheWith(accessToken('AT1')), 'AT1', query);
    const first = row(cacheWith(accessToken('AT1')));
    expect(cachedAccessToken(first, { ...query, now: NOW })).toBe('AT1');
    expect(cachedAccessToken(row(cacheWith(accessToken('AT2'))), { ...query, now: NOW })).toBe('AT2');
  });
});

describe('the rules the shortcut copies from MSAL, one by one', () => {
  const at = (overrides: Record<string, string | undefined> = {}) => accessToken('AT1', overrides);
  const take = (cache: string, q: Partial<typeof query> & { now?: number } = {}) => cachedAccessToken(row(cache), { ...query, now: NOW, ...q });
  beforeEach(() => learnTokenLocation(cacheWith(at()), 'AT1', query));

  test('the token must be the client\'s and an access token (any letter case); entries of another kind are skipped', () => {
    expect(take(cacheWith(at({ client_id: 'other-client' })))).toBeUndefined();
    expect(take(cacheWith(at({ credential_type: 'ACCESSTOKEN' })))).toBe('AT1');
    expect(take(cacheWith(at({ credential_type: 'RefreshToken' })))).toBeUndefined();
    expect(take(cacheWith(at({ credential_type: undefined })))).toBeUndefined();
    // An entry that is not an object, beside the token, changes nothing.
    const withJunk = JSON.parse(cacheWith(at())) as { AccessToken: Record<string, unknown> };
    withJunk.AccessToken['junk'] = null;
    withJunk.AccessToken['text'] = 'x';
    expect(take(JSON.stringify(withJunk))).toBe('AT1');
  });

  test('fields that are not text count as absent (not a crash, not a token)', () => {
    const odd = (field: string, value: unknown) => {
      const cache = JSON.parse(cacheWith(at())) as { AccessToken: Record<string, Record<string, unknown>> };
      cache.AccessToken['at-0']![field] = value;
      return JSON.stringify(cache);
    };
    expect(take(odd('credential_type', 5))).toBeUndefined();
    expect(take(odd('secret', 12345))).toBeUndefined();
    expect(take(odd('token_type', 7))).toBe('AT1');
  });

  test('the token must come from the environment MSAL found it in', () => {
    expect(take(cacheWith(at({ environment: 'other.example' })))).toBeUndefined();
  });

  test('it must cover every scope asked for; scopes in the token beyond those do not matter', () => {
    expect(take(cacheWith(at({ target: 'api://demo/Data.Read api://demo/Data.Write' })))).toBe('AT1');
    learnTokenLocation(cacheWith(at()), 'AT1', { ...query, scopes: ['api://demo/Data.Read', 'api://demo/Data.Write'] });
    const both = { scopes: ['api://demo/Data.Read', 'api://demo/Data.Write'] };
    expect(take(cacheWith(at()), both)).toBeUndefined();
    expect(take(cacheWith(at({ target: ' api://demo/data.write  API://demo/Data.Read ' })), both)).toBe('AT1');
    expect(take(cacheWith(at({ target: undefined })))).toBeUndefined();
  });

  test('a token without a token type is a Bearer token; the type compares in any letter case', () => {
    expect(take(cacheWith(at({ token_type: undefined })))).toBe('AT1');
    expect(take(cacheWith(at({ token_type: 'BEARER' })))).toBe('AT1');
    expect(take(cacheWith(at({ keyId: 'kid-1' })))).toBeUndefined();
  });

  test('expiry, cache time and refresh time must be numbers; refresh_on is still good at its second', () => {
    expect(take(cacheWith(at({ expires_on: 'soon' })))).toBeUndefined();
    expect(take(cacheWith(at({ expires_on: undefined })))).toBeUndefined();
    expect(take(cacheWith(at({ cached_at: 'then' })))).toBeUndefined();
    expect(take(cacheWith(at({ cached_at: undefined })))).toBeUndefined();
    expect(take(cacheWith(at({ cached_at: String(NOW) })))).toBe('AT1');
    expect(take(cacheWith(at({ refresh_on: String(NOW) })))).toBe('AT1');
    expect(take(cacheWith(at({ refresh_on: 'never' })))).toBeUndefined();
  });

  test('without a clock given, now is the real time in seconds', () => {
    const real = Math.floor(Date.now() / 1000);
    const live = cacheWith(at({ cached_at: String(real - 10), expires_on: String(real + 3600) }));
    expect(cachedAccessToken(row(live), query)).toBe('AT1');
    // A token MSAL would call expired now (NOW is years ahead) is refused by the real clock too.
    const stale = cacheWith(at({ cached_at: String(real - 7200), expires_on: String(real - 3600) }));
    expect(cachedAccessToken(row(stale), query)).toBeUndefined();
    // Cached "in the future" by milliseconds only: seconds, not milliseconds, are compared.
    const justNow = cacheWith(at({ cached_at: String(real), expires_on: String(real + 3600) }));
    expect(cachedAccessToken(row(justNow), query)).toBe('AT1');
  });

  test('an account entry of another account, or one that is not an object, is no account', () => {
    const cache = JSON.parse(cacheWith(at())) as { Account: Record<string, unknown> };
    cache.Account = { a: { home_account_id: 'someone.else' }, b: null };
    expect(take(JSON.stringify(cache))).toBeUndefined();
    expect(take(JSON.stringify({ ...cache, Account: undefined }))).toBeUndefined();
  });

  test('a row whose cache is JSON but not an object, or no access token section, gives nothing', () => {
    expect(take('[1]')).toBeUndefined();
    expect(take('null')).toBeUndefined();
    expect(take('"text"')).toBeUndefined();
    const noTokens = JSON.parse(cacheWith(at())) as Record<string, unknown>;
    delete noTokens['AccessToken'];
    expect(take(JSON.stringify(noTokens))).toBeUndefined();
  });

  test('the row\'s cache is parsed once per version of the row: its memo answers after that', () => {
    const memo: { parsed?: unknown } = {};
    const cache = cacheWith(at());
    expect(cachedAccessToken({ cache, etag: 'W/"1"', sessions: {}, memo }, { ...query, now: NOW })).toBe('AT1');
    expect(memo.parsed).toEqual(JSON.parse(cache));
    // Same version (same memo): the memo is used, not the text.
    expect(cachedAccessToken({ cache: 'no longer parsed', etag: 'W/"1"', sessions: {}, memo }, { ...query, now: NOW })).toBe('AT1');
    // A cache that did not parse is remembered as such.
    const bad: { parsed?: unknown } = {};
    expect(cachedAccessToken({ cache: '{', etag: 'W/"2"', sessions: {}, memo: bad }, { ...query, now: NOW })).toBeUndefined();
    expect('parsed' in bad).toBe(true);
    expect(cachedAccessToken({ cache, etag: 'W/"2"', sessions: {}, memo: bad }, { ...query, now: NOW })).toBeUndefined();
    // Without a memo every read parses.
    expect(cachedAccessToken({ cache, etag: 'W/"3"', sessions: {} }, { ...query, now: NOW })).toBe('AT1');
  });
});

describe('what MSAL taught: learnt only from its own answer, bounded', () => {
  const cache = cacheWith(accessToken('AT1'));

  test('nothing is learnt from no cache, a cache that is not JSON, a token not in the cache, or another account\'s token', () => {
    learnTokenLocation(undefined, 'AT1', query);
    learnTokenLocation('{', 'AT1', query);
    learnTokenLocation(cache, 'AT-other', query);
    learnTokenLocation(cacheWith(accessToken('AT1', { home_account_id: 'someone.else' })), 'AT1', query);
    learnTokenLocation(JSON.stringify({ Account: {} }), 'AT1', query);
    expect(cachedAccessToken(row(cache), { ...query, now: NOW })).toBeUndefined();
  });

  test.each([
    ['its environment', { environment: undefined }],
    ['its realm', { realm: undefined }],
  ])('nothing is learnt from a token without %s', (_name, overrides) => {
    const odd = cacheWith(accessToken('AT1', overrides));
    learnTokenLocation(odd, 'AT1', query);
    expect(cachedAccessToken(row(odd), { ...query, now: NOW })).toBeUndefined();
  });

  test('nothing is learnt from another account\'s token, even one of the same environment and realm', () => {
    learnTokenLocation(cacheWith(accessToken('AT1', { home_account_id: 'someone.else' })), 'AT1', query);
    expect(cachedAccessToken(row(cache), { ...query, now: NOW })).toBeUndefined();
  });

  test('the location is the answered token\'s, not the first entry\'s; entries that are not tokens are passed over', () => {
    const mixed = JSON.parse(cacheWith(accessToken('AT0', { realm: 'elsewhere' }), accessToken('AT1'))) as { AccessToken: Record<string, unknown> };
    mixed.AccessToken = { nothing: null, ...mixed.AccessToken };
    learnTokenLocation(JSON.stringify(mixed), 'AT1', query);
    expect(cachedAccessToken(row(cache), { ...query, now: NOW })).toBe('AT1');
  });

  test('scopes are learnt as a set: another order is the same, another split of the same letters is not', () => {
    const both = cacheWith(accessToken('AT1', { target: 'ab c a bc' }));
    learnTokenLocation(both, 'AT1', { ...query, scopes: ['c', 'ab'] });
    expect(cachedAccessToken(row(both), { ...query, scopes: ['ab', 'c'], now: NOW })).toBe('AT1');
    expect(cachedAccessToken(row(both), { ...query, scopes: ['a', 'bc'], now: NOW })).toBeUndefined();
    // A token covering other scopes too answers only for the scopes MSAL was asked for.
    expect(cachedAccessToken(row(both), { ...query, scopes: ['a'], now: NOW })).toBeUndefined();
  });

  test('scopes are learnt as MSAL compares them (case, order, OpenID Connect scopes, blanks)', () => {
    learnTokenLocation(cache, 'AT1', { ...query, scopes: [' openid', 'API://demo/Data.Read ', ''] });
    expect(cachedAccessToken(row(cache), { ...query, now: NOW })).toBe('AT1');
  });

  test('the location learnt last for an account and scopes wins', () => {
    learnTokenLocation(cacheWith(accessToken('AT0', { realm: 'old' })), 'AT0', query);
    learnTokenLocation(cache, 'AT1', query);
    expect(cachedAccessToken(row(cache), { ...query, now: NOW })).toBe('AT1');
  });

  test('at most 20,000 locations: the least recently learnt is forgotten first', () => {
    const learn = (pk: string) => learnTokenLocation(cache, 'AT1', { ...query, partitionKey: pk });
    const known = (pk: string) => cachedAccessToken(row(cache), { ...query, partitionKey: pk, now: NOW }) === 'AT1';
    for (let i = 0; i < 20_000; i++) learn(`pk-${i}`);
    expect(known('pk-0')).toBe(true);
    // Learnt again while full: it is not a new location, nothing is forgotten.
    learn('pk-5');
    expect(known('pk-0')).toBe(true);
    // pk-0 learnt again: now the most recent; pk-1 is the oldest.
    learn('pk-0');
    learn('pk-new');
    expect(known('pk-new')).toBe(true);
    expect(known('pk-0')).toBe(true);
    expect(known('pk-1')).toBe(false);
    expect(known('pk-2')).toBe(true);
  });
});
