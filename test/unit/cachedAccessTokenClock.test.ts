import { cachedAccessToken, forgetTokenLocations } from '../../shared/tokenCache/cachedAccessToken';

/**
 * The shortcut reads the clock as MSAL does (msal-common's nowSeconds rounds to the nearest
 * second): a token MSAL wrote in the last half second, its `cached_at` already the next second,
 * is taken from the row, not refused as written in the future.
 */
const HOME = 'uid.utid';
const SECOND = 1_900_000_000;

function cacheWith(cachedAt: number) {
  const idToken = ['e30', Buffer.from(JSON.stringify({ tid: 'tenant' })).toString('base64url'), 'sig'].join('.');
  return {
    Account: { a: { home_account_id: HOME, environment: 'idp.example', realm: 'tenant', local_account_id: 'uid' } },
    IdToken: { i: { home_account_id: HOME, environment: 'idp.example', credential_type: 'IdToken', client_id: 'client', realm: 'tenant', secret: idToken } },
    AccessToken: { t: { home_account_id: HOME, environment: 'idp.example', credential_type: 'AccessToken', client_id: 'client', secret: 'AT', realm: 'tenant', target: 'api://demo/Data.Read', cached_at: String(cachedAt), expires_on: String(cachedAt + 3600), token_type: 'Bearer' } },
  };
}

const query = { partitionKey: 'pk', homeAccountId: HOME, clientId: 'client', authorityUrl: 'https://idp.example/tenant', scopes: ['api://demo/Data.Read'] };
const read = (cachedAt: number) => cachedAccessToken({ cache: JSON.stringify(cacheWith(cachedAt)), etag: 'W/"1"', sessions: {}, memo: {} }, query);

afterEach(() => jest.restoreAllMocks());
beforeEach(() => forgetTokenLocations());

test('a token written in the last half second (cached_at rounded up, as MSAL writes it) is taken', () => {
  jest.spyOn(Date, 'now').mockReturnValue(SECOND * 1000 + 600);
  expect(read(SECOND + 1)).toBe('AT');
});

test('a token whose cached_at is ahead of MSAL\'s clock is still refused (the clock was turned back)', () => {
  jest.spyOn(Date, 'now').mockReturnValue(SECOND * 1000 + 400);
  expect(read(SECOND + 1)).toBeUndefined();
  expect(read(SECOND)).toBe('AT');
});
