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
