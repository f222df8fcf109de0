import { cachedAccessToken, forgetTokenLocations, MSAL_REFRESH_MARGIN_SECONDS } from '../../shared/tokenCache/cachedAccessToken';
import type { CacheRow } from '../../shared/tokenCache/tableStore';

/**
 * The first call in a process, before MSAL has picked any token: the shortcut answers only for a
 * row where MSAL's account and tenant lookup has one outcome, and that outcome is the token it
 * returns.
 */
const HOME = 'uid.utid';
const NOW = 1_900_000_000;
const query = { partitionKey: 'pk', homeAccountId: HOME, clientId: 'client', authorityUrl: 'https://idp.example/tenant', scopes: ['api://demo/Data.Read'], now: NOW };

type Entry = Record<string, unknown>;

function idTokenSecret(claims: Record<string, string>): string {
  return ['e30', Buffer.from(JSON.stringify(claims)).toString('base64url'), 'sig'].join('.');
}

function plainCache(): { Account: Record<string, Entry>; IdToken: Record<string, Entry>; AccessToken: Record<string, Entry> } {
  return {
    Account: { a: { home_account_id: HOME, environment: 'idp.example', realm: 'tenant', local_account_id: 'uid', tenantProfiles: [JSON.stringify({ tenantId: 'tenant', localAccountId: 'uid', isHomeTenant: true })] } },
    IdToken: { i: { home_account_id: HOME, environment: 'idp.example', credential_type: 'IdToken', client_id: 'client', realm: 'tenant', secret: idTokenSecret({ tid: 'tenant', oid: 'uid' }) } },
    AccessToken: {
      t: { home_account_id: HOME, environment: 'idp.example', credential_type: 'AccessToken', client_id: 'client', secret: 'AT1', realm: 'tenant', target: 'api://demo/Data.Read openid profile', cached_at: String(NOW - 60), expires_on: String(NOW + 3600), token_type: 'Bearer' },
    },
  };
}

const row = (cache: unknown): CacheRow => ({ cache: JSON.stringify(cache), etag: 'W/"1"', sessions: {}, memo: {} });
const token = (cache: unknown, q: Partial<typeof query> = {}) => cachedAccessToken(row(cache), { ...query, ...q });

beforeEach(() => forgetTokenLocations());

test('a plain row gives its token with nothing learnt: one account, one tenant profile, one ID token naming the tenant, one candidate', () => {
  expect(token(plainCache())).toBe('AT1');
  // An account entity written before tenant profiles existed counts as its home tenant.
  const legacy = plainCache();
  delete legacy.Account['a']!['tenantProfiles'];
  expect(token(legacy)).toBe('AT1');
  // B2C: the tenant MSAL uses is the policy (`tfp`), and so is the token's realm.
  const b2c = plainCache();
  b2c.IdToken['i']!['secret'] = idTokenSecret({ tfp: 'B2C_1_signin' });
  b2c.AccessToken['t']!['realm'] = 'B2C_1_signin';
  expect(token(b2c)).toBe('AT1');
});

test('the expiry rules stay MSAL\'s: within the refresh margin, refresh_on passed, a clock turned back', () => {
  const cases: Record<string, string>[] = [{ expires_on: String(NOW + MSAL_REFRESH_MARGIN_SECONDS - 1) }, { refresh_on: String(NOW - 1) }, { cached_at: String(NOW + 60) }];
  for (const fields of cases) {
    const cache = plainCache();
    Object.assign(cache.AccessToken['t']!, fields);
    expect(token(cache)).toBeUndefined();
  }
});

test('MSAL decides when the account or its tenant has more than one reading', () => {
  const twoAccounts = plainCache();
  twoAccounts.Account['b'] = { ...twoAccounts.Account['a'], environment: 'other.example' };
  const twoProfiles = plainCache();
  twoProfiles.Account['a']!['tenantProfiles'] = [JSON.stringify({ tenantId: 'tenant' }), JSON.stringify({ tenantId: 'guest' })];
  const otherProfile = plainCache();
  otherProfile.Account['a']!['tenantProfiles'] = [JSON.stringify({ tenantId: 'guest' })];
  const noProfileNoLocalId = plainCache();
  noProfileNoLocalId.Account['a']!['tenantProfiles'] = [];
  delete noProfileNoLocalId.Account['a']!['local_account_id'];
  for (const cache of [twoAccounts, twoProfiles, otherProfile, noProfileNoLocalId]) expect(token(cache)).toBeUndefined();
});

test('MSAL decides without exactly one ID token naming the tenant the token was issued in', () => {
  const none = plainCache();
  none.IdToken = {};
  const two = plainCache();
  two.IdToken['j'] = { ...two.IdToken['i'], realm: 'guest' };
  const noTenantClaim = plainCache();
  noTenantClaim.IdToken['i']!['secret'] = idTokenSecret({ oid: 'uid' });
  const otherTenant = plainCache();
  otherTenant.IdToken['i']!['secret'] = idTokenSecret({ tid: 'guest' });
  const notJwt = plainCache();
  notJwt.IdToken['i']!['secret'] = 'not-a-jwt';
  for (const cache of [none, two, noTenantClaim, otherTenant, notJwt]) expect(token(cache)).toBeUndefined();
});

test('MSAL decides when a second candidate exists anywhere, or the account lives under another host than the authority', () => {
  const aliasCandidate = plainCache();
  aliasCandidate.AccessToken['u'] = { ...aliasCandidate.AccessToken['t'], environment: 'alias.example', secret: 'AT2' };
  const realmCandidate = plainCache();
  realmCandidate.AccessToken['u'] = { ...realmCandidate.AccessToken['t'], realm: 'guest', secret: 'AT2' };
  for (const cache of [aliasCandidate, realmCandidate]) expect(token(cache)).toBeUndefined();
  expect(token(plainCache(), { authorityUrl: 'https://login.example/tenant' })).toBeUndefined();
  // The only candidate in another realm than the ID token names: MSAL would find none and refresh.
  const elsewhere = plainCache();
  elsewhere.AccessToken['t']!['realm'] = 'guest';
  expect(token(elsewhere)).toBeUndefined();
  // Other scopes, or another client's token, are no candidates at all.
  expect(token(plainCache(), { scopes: ['api://other/x'] })).toBeUndefined();
  expect(token(plainCache(), { clientId: 'other-client' })).toBeUndefined();
});
