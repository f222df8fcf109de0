import { findFreePort } from '../../dev/azurite';
import { acquireAccessTokenForSession } from '../../shared/auth/accountTokens';
import { REFRESH_LEASE_MS, refreshLeaseHook, type LeaseState } from '../../shared/auth/refreshLease';
import { TimedNetworkClient } from '../../shared/auth/msalNetwork';
import { forgetTokenLocations } from '../../shared/tokenCache/cachedAccessToken';
import { partitionKeyFor, REFRESH_LEASE_ROW_KEY } from '../../shared/tokenCache/tableStore';
import { runWithDeadline } from '../../shared/deadline';
import { currentRequest, runLoggedRequest } from '../../shared/log';
import { ProblemError } from '../../shared/problems';
import { cacheTable, deleteCacheRow, expireAccessTokens, readCacheRow, rewriteAccessTokens } from '../support/cacheRows';
import { API_SCOPE, OTHER_SCOPE, startTokenRig, type TokenRig } from '../support/tokenRig';

/**
 * A session's access token (shared/auth/accountTokens.ts) with the real MSAL, the app's runtime,
 * Azurite's Table service and the dev HTTPS provider: from the row while valid, one refresh when
 * expired (shared by concurrent callers, and across instances through the refresh lease), what a
 * refusal by the token endpoint becomes, and a second acquisition with claims or past a refused token.
 */
let rig: TokenRig;
const LOGIN = '/api/login?returnUrl=%2F';

beforeAll(async () => {
  rig = await startTokenRig({ singleUseRefreshTokens: true });
});
afterAll(async () => {
  await rig?.close();
});
beforeEach(() => forgetTokenLocations());

const refreshes = () => rig.idp.stats.grants.refresh_token;
const tokenRequests = () => rig.idp.stats.requests.token;
const row = async (session: { homeAccountId: string }) => (await rig.runtime.tokenCache.read(partitionKeyFor(session.homeAccountId)))!;
/** Inside a request as the proxy calls it (its log lines go nowhere unless a test looks at them). */
const inRequest = <T>(work: () => Promise<T>): Promise<T> =>
  currentRequest() ? work() : runLoggedRequest({ invocationId: 'inv', functionName: 'proxy', route: 'proxy/demo', method: 'GET', write: () => {} }, work, () => ({ status: 200 }));
const acquire = (session: Parameters<typeof acquireAccessTokenForSession>[1], ...rest: unknown[]) =>
  inRequest(() => acquireAccessTokenForSession(rig.runtime, session, (rest[0] as string[] | undefined) ?? [API_SCOPE], LOGIN, ...(rest.slice(1) as [])));
/** Runs `work` as a request does: the request's log line says where its token came from (`token`), beside its events. */
async function logged<T>(work: () => Promise<T>): Promise<{ result: T | unknown; token: unknown; events: Record<string, unknown>[] }> {
  const lines: Record<string, unknown>[] = [];
  const result = await runLoggedRequest({ invocationId: 'inv', functionName: 'proxy', route: 'proxy/demo', method: 'GET', write: (line) => lines.push(JSON.parse(line) as Record<string, unknown>) }, work, () => ({ status: 200 })).catch((e: unknown) => e);
  return { result, token: lines.find((l) => l['type'] === 'request')?.['token'], events: lines.filter((l) => l['type'] === 'event') };
}
const accessTokensIn = async (username: string) => Object.values((await readCacheRow(rig.stack, username))!.cache['AccessToken'] ?? {}).map((t) => t['secret']);

test('a valid token comes from the row: no provider call, the same token each time, and from the row just read without MSAL once MSAL found it', async () => {
  const session = await rig.signIn('ada@contoso.dev');
  const before = tokenRequests();
  const viaMsal = await logged(() => acquire(session));
  const first = viaMsal.result as Awaited<ReturnType<typeof acquire>>;
  expect(first.refreshed).toBe(false);
  expect(viaMsal.token).toBe('cache');
  expect(viaMsal.events).toEqual([]);
  expect(await accessTokensIn('ada@contoso.dev')).toContain(first.accessToken);
  const preloaded = await row(session);
  const shortcut = await logged(() => acquire(session, [API_SCOPE], preloaded));
  expect(shortcut.result).toEqual({ accessToken: first.accessToken, refreshed: false });
  expect(shortcut.token).toBe('cache');
  expect(tokenRequests()).toBe(before);
});

test('an expired token: one refresh, the new token written to the row, and the next call takes it from there', async () => {
  const session = await rig.signIn('grace@contoso.dev');
  const old = await acquire(session);
  await expireAccessTokens(rig.stack, 'grace@contoso.dev');
  const before = refreshes();
  const preloaded = await row(session);
  const refreshed = await logged(() => acquire(session, [API_SCOPE], preloaded));
  const fresh = refreshed.result as Awaited<ReturnType<typeof acquire>>;
  expect(fresh.refreshed).toBe(true);
  expect(refreshed.token).toBe('refreshed');
  expect(refreshed.events).toEqual([expect.objectContaining({ event: 'refresh', outcome: 'success' })]);
  expect(fresh.accessToken).not.toBe(old.accessToken);
  expect(refreshes() - before).toBe(1);
  expect(await accessTokensIn('grace@contoso.dev')).toContain(fresh.accessToken);
  // The refresh lease beside the row is released once the row is written.
  expect(await rig.runtime.tokenCache.readRefreshLease(partitionKeyFor(session.homeAccountId))).toBeUndefined();
  expect(await acquire(session, [API_SCOPE], await row(session))).toEqual({ accessToken: fresh.accessToken, refreshed: false });
  expect(refreshes() - before).toBe(1);
});

test('concurrent callers for one account and resource share one refresh; another resource is an acquisition of its own', async () => {
  const session = await rig.signIn('ada@contoso.dev');
  await expireAccessTokens(rig.stack, 'ada@contoso.dev');
  const before = refreshes();
  const results = await Promise.all([...Array.from({ length: 5 }, () => acquire(session)), acquire(session, [OTHER_SCOPE])]);
  const demo = results.slice(0, 5);
  expect(new Set(demo.map((r) => r.accessToken)).size).toBe(1);
  expect(demo.every((r) => r.refreshed)).toBe(true);
  expect(results[5]!.accessToken).not.toBe(demo[0]!.accessToken);
  expect(refreshes() - before).toBe(2);
  // The scopes' order does not make another acquisition: one refresh, one lease taken, one row write.
  await expireAccessTokens(rig.stack, 'ada@contoso.dev');
  const writes = rig.runtime.tableCalls.writes;
  const two = [API_SCOPE, 'offline_access'];
  const pair = await Promise.all([acquire(session, two), acquire(session, [...two].reverse())]);
  expect(pair[0]).toEqual(pair[1]);
  expect(refreshes() - before).toBe(3);
  expect(rig.runtime.tableCalls.writes - writes).toBe(2);
});

test('a second acquisition past the token the API refused redeems the refresh token once; a token already replaced is used as it is', async () => {
  const session = await rig.signIn('ada@contoso.dev');
  const held = await acquire(session);
  const before = refreshes();
  const replaced = await acquire(session, [API_SCOPE], await row(session), { rejectedToken: held.accessToken });
  expect(replaced.refreshed).toBe(true);
  expect(replaced.accessToken).not.toBe(held.accessToken);
  expect(refreshes() - before).toBe(1);
  // Another caller refused the same (old) token: the row's new token is the answer, no second refresh.
  const late = await acquire(session, [API_SCOPE], undefined, { rejectedToken: held.accessToken });
  expect(late).toEqual({ accessToken: replaced.accessToken, refreshed: false });
  expect(refreshes() - before).toBe(1);
});

test('a second acquisition is not merged with a plain one running at the same time: each gets its own answer', async () => {
  const session = await rig.signIn('ada@contoso.dev');
  const held = await acquire(session);
  const [plain, past] = await Promise.all([acquire(session), acquire(session, [API_SCOPE], undefined, { rejectedToken: held.accessToken })]);
  expect(plain.accessToken).toBe(held.accessToken);
  expect(past.accessToken).not.toBe(held.accessToken);
  const claims = JSON.stringify({ access_token: { nbf: { essential: true, value: '1' } } });
  const current = await acquire(session);
  const [plainAgain, withClaims] = await Promise.all([acquire(session), acquire(session, [API_SCOPE], undefined, { claims })]);
  expect(plainAgain.refreshed).toBe(false);
  expect(withClaims.refreshed).toBe(true);
  expect(withClaims.accessToken).not.toBe(current.accessToken);
});

test('a second acquisition with claims redeems the refresh token with them, even with a valid token in the row', async () => {
  const session = await rig.signIn('grace@contoso.dev');
  const held = await acquire(session, [API_SCOPE], await row(session));
  const before = refreshes();
  const claims = JSON.stringify({ access_token: { nbf: { essential: true, value: String(Math.floor(Date.now() / 1000)) } } });
  const answered = await acquire(session, [API_SCOPE], await row(session), { claims });
  expect(answered.refreshed).toBe(true);
  expect(answered.accessToken).not.toBe(held.accessToken);
  expect(refreshes() - before).toBe(1);
});

test('the account\'s row is gone (signed out elsewhere): 401 session_ended with the loginUrl', async () => {
  const session = await rig.signIn('ada@contoso.dev');
  await deleteCacheRow(rig.stack, 'ada@contoso.dev');
  const failure = await acquire(session).catch((e: unknown) => e);
  expect(failure).toBeInstanceOf(ProblemError);
  expect(failure).toMatchObject({ status: 401, code: 'session_ended', detail: 'The account\'s tokens are gone (signed out or expired).', extensions: { loginUrl: LOGIN } });
});

test('a refresh token the provider no longer honours: 401 interaction_required with the loginUrl, logged by its code', async () => {
  const session = await rig.signIn('grace@contoso.dev');
  await expireAccessTokens(rig.stack, 'grace@contoso.dev');
  rig.idp.controls.revokeRefreshTokens();
  const { result: failure, token, events } = await logged(() => acquire(session));
  expect(failure).toMatchObject({ status: 401, code: 'interaction_required', extensions: { loginUrl: LOGIN } });
  expect(token).toBe('interaction_required');
  expect(events).toEqual([expect.objectContaining({ event: 'consent_required', code: 'invalid_grant' })]);
});

test('sign-in needed while answering a claims challenge: the loginUrl carries the claims to the provider', async () => {
  const session = await rig.signIn('grace@contoso.dev');
  rig.idp.controls.revokeRefreshTokens();
  const claims = JSON.stringify({ access_token: { acrs: { essential: true, value: 'c1' } } });
  const failure = await acquire(session, [API_SCOPE], undefined, { claims }).catch((e: unknown) => e);
  expect(failure).toMatchObject({ status: 401, code: 'interaction_required' });
  const loginUrl = new URL((failure as ProblemError).extensions['loginUrl'] as string, 'http://app');
  expect(loginUrl.pathname).toBe('/api/login');
  expect(Object.fromEntries(loginUrl.searchParams)).toEqual({ returnUrl: '/', claims });
});

test('a refresh the provider refuses for another reason (scopes of two APIs at once): 401 interaction_required with the loginUrl, the refusal logged by its code', async () => {
  const session = await rig.signIn('ada@contoso.dev');
  const { result: failure, token, events } = await logged(() => acquire(session, [API_SCOPE, OTHER_SCOPE]));
  expect(failure).toMatchObject({ status: 401, code: 'interaction_required', extensions: { loginUrl: LOGIN } });
  expect(token).toBe('interaction_required');
  expect(events).toEqual([expect.objectContaining({ event: 'refresh', outcome: 'failed', code: 'invalid_scope' })]);
});

test('a token endpoint that fails: the provider\'s failure, with no token and no session lost', async () => {
  const session = await rig.signIn('ada@contoso.dev');
  await expireAccessTokens(rig.stack, 'ada@contoso.dev');
  rig.idp.controls.failTokenEndpoint(503, 1);
  const { result: failure, events } = await logged(() => acquire(session));
  expect(events).toEqual([expect.objectContaining({ event: 'refresh', outcome: 'failed', code: (failure as ProblemError).code })]);
  expect(failure).toBeInstanceOf(ProblemError);
  expect((failure as ProblemError).status).toBeGreaterThanOrEqual(502);
  expect((failure as ProblemError).status).toBeLessThanOrEqual(504);
  expect((failure as ProblemError).code).not.toBe('internal_error');
  // The refresh token is still good: the next call refreshes.
  expect((await acquire(session)).refreshed).toBe(true);
});

test('a token endpoint that never answers ends with the request\'s deadline', async () => {
  const session = await rig.signIn('grace@contoso.dev');
  await expireAccessTokens(rig.stack, 'grace@contoso.dev');
  rig.idp.controls.holdTokenRequests(true);
  try {
    const failure = await runWithDeadline(500, () => acquire(session)).catch((e: unknown) => e);
    expect(failure).toMatchObject({ status: 503, code: 'request_deadline_exceeded' });
    // The refresh lease is released all the same (not left to run out, which would hold other
    // instances for REFRESH_LEASE_MS): the cut refresh lets go of it just after the deadline.
    const partitionKey = partitionKeyFor(session.homeAccountId);
    const until = Date.now() + 5_000;
    while ((await rig.runtime.tokenCache.readRefreshLease(partitionKey)) && Date.now() < until) await new Promise((resolve) => setImmediate(resolve));
    expect(await rig.runtime.tokenCache.readRefreshLease(partitionKey)).toBeUndefined();
  } finally {
    rig.idp.controls.holdTokenRequests(false);
    await cacheTable(rig.stack).deleteEntity(partitionKeyFor(session.homeAccountId), REFRESH_LEASE_ROW_KEY).catch(() => undefined);
  }
});

test('another instance holds the refresh lease: this one waits for it, then takes the token that instance wrote, without a refresh of its own', async () => {
  const session = await rig.signIn('ada@contoso.dev');
  await expireAccessTokens(rig.stack, 'ada@contoso.dev');
  const partitionKey = partitionKeyFor(session.homeAccountId);
  const other = await rig.newRuntime();
  const lease = (await other.tokenCache.tryTakeRefreshLease(partitionKey, REFRESH_LEASE_MS))!;
  const before = tokenRequests();
  const reads = rig.runtime.tableCalls.reads;
  const preloaded = await row(session);
  const waiting = logged(() => acquire(session, [API_SCOPE], preloaded));
  // Until this instance has found the lease held and polls it (at most 10 s).
  for (let i = 0; i < 2000 && rig.runtime.tableCalls.reads < reads + 3; i++) await new Promise((resolve) => setTimeout(resolve, 5));
  // The holder's refresh lands in the row, then it lets go.
  const later = String(Math.floor(Date.now() / 1000) + 3600);
  await rewriteAccessTokens(rig.stack, (token) => {
    token['secret'] = 'written-by-the-lease-holder';
    token['expires_on'] = later;
    token['extended_expires_on'] = later;
  }, 'ada@contoso.dev');
  await other.tokenCache.releaseRefreshLease(partitionKey, lease);
  const { result, events } = await waiting;
  expect(result).toEqual({ accessToken: 'written-by-the-lease-holder', refreshed: false });
  // Waiting for another instance's refresh is no failed refresh.
  expect(events).toEqual([]);
  expect(tokenRequests()).toBe(before);
});

describe('the refresh lease hook against the account\'s row', () => {
  const table = () => rig.runtime.tokenCache;
  let n = 0;
  const key = () => `lease-test-${n++}`;
  const refresh = (refreshToken?: string) => new URLSearchParams({ grant_type: 'refresh_token', ...(refreshToken ? { refresh_token: refreshToken } : {}) });
  const rowHolding = (...secrets: (string | null)[]) => JSON.stringify({ RefreshToken: Object.fromEntries(secrets.map((s, i) => [`rt-${i}`, s === null ? null : { secret: s }])) });
  async function hook(partitionKey: string, body: URLSearchParams) {
    const state: LeaseState = {};
    const failure = await refreshLeaseHook(table(), partitionKey, state)(body).catch((e: unknown) => e);
    if (state.lease) await table().releaseRefreshLease(partitionKey, state.lease);
    return { state, failure };
  }

  test('the row still holds the refresh token about to be redeemed: the lease is taken and the refresh goes ahead', async () => {
    const pk = key();
    await table().replaceRow(pk, rowHolding(null, 'rt-current'), {}, new Date(Date.now() + 60_000), undefined);
    const { state, failure } = await hook(pk, refresh('rt-current'));
    expect(failure).toBeUndefined();
    expect(state.lease?.etag).toBeTruthy();
    expect(state.refreshedElsewhere).toBeUndefined();
  });

  test('the row holds another refresh token, or none: refreshed elsewhere, read the row again', async () => {
    for (const cache of [rowHolding('rt-newer'), '{}']) {
      const pk = key();
      await table().replaceRow(pk, cache, {}, new Date(Date.now() + 60_000), undefined);
      const { state, failure } = await hook(pk, refresh('rt-spent'));
      expect((failure as Error).name).toBe('RefreshedElsewhere');
      expect(state.refreshedElsewhere).toBe(true);
      expect(state.lease).toBeDefined();
    }
  });

  test('no row, a row that is not JSON, or no refresh token in the request: nothing to compare, the refresh goes ahead', async () => {
    const none = await hook(key(), refresh('rt-any'));
    expect(none.failure).toBeUndefined();
    const pk = key();
    await table().replaceRow(pk, 'not json', {}, new Date(Date.now() + 60_000), undefined);
    const notJson = await hook(pk, refresh('rt-any'));
    expect(notJson.failure).toBeUndefined();
    const pk2 = key();
    await table().replaceRow(pk2, rowHolding('rt-newer'), {}, new Date(Date.now() + 60_000), undefined);
    const noToken = await hook(pk2, refresh());
    expect(noToken.failure).toBeUndefined();
    for (const result of [none, notJson, noToken]) expect(result.state.refreshedElsewhere).toBeUndefined();
  });

  test('a lease held elsewhere that runs out while waiting: refreshed elsewhere, after polling until it ran out', async () => {
    const pk = key();
    const theirs = (await table().tryTakeRefreshLease(pk, 300))!;
    expect(theirs).toBeDefined();
    const reads = rig.runtime.tableCalls.reads;
    const started = Date.now();
    const { state, failure } = await hook(pk, refresh('rt-any'));
    expect((failure as Error).name).toBe('RefreshedElsewhere');
    expect(state).toEqual({ refreshedElsewhere: true });
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    // Polled every 100 ms or so, not in a busy loop.
    expect(rig.runtime.tableCalls.reads - reads).toBeLessThanOrEqual(8);
    expect(rig.runtime.tableCalls.reads - reads).toBeGreaterThanOrEqual(2);
  });
});

describe('MSAL\'s network client: every provider call bounded, the reason for a failure kept', () => {
  test('a GET and a POST reach the provider and come back as MSAL reads them: status, headers and parsed body', async () => {
    const client = new TimedNetworkClient();
    const discovery = await client.sendGetRequestAsync<{ issuer: string }>(`${rig.idp.issuer}/.well-known/openid-configuration`);
    expect(discovery.status).toBe(200);
    expect(discovery.body.issuer).toBe(rig.idp.issuer);
    expect(discovery.headers['content-type']).toContain('application/json');
    const before = tokenRequests();
    const token = await client.sendPostRequestAsync<{ error: string }>(`${rig.idp.issuer}/token`, { body: 'grant_type=client_credentials&client_id=nobody', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(token.status).toBe(401);
    expect(token.body.error).toBe('invalid_client');
    expect(tokenRequests() - before).toBe(1);
    expect(client.failure).toBeUndefined();
    // A POST without a body is sent with an empty one.
    const empty = await client.sendPostRequestAsync<{ error: string }>(`${rig.idp.issuer}/token`, { headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(empty.status).toBeGreaterThanOrEqual(400);
    expect(empty.body.error).toMatch(/^invalid_/);
  });

  test('an answer that is not JSON (a gateway\'s HTML page): 502 provider_unavailable, kept as the failure', async () => {
    const client = new TimedNetworkClient();
    const failure = await client.sendGetRequestAsync(`${rig.idp.browserOrigin}/authorize`).catch((e: unknown) => e);
    expect(failure).toMatchObject({ status: 502, code: 'provider_unavailable' });
    expect((failure as ProblemError).detail).toBe('The token endpoint answered 400 without JSON.');
    expect(client.failure).toBe(failure);
  });

  test('a provider that cannot be reached: 502 provider_unavailable', async () => {
    const closed = await findFreePort();
    const client = new TimedNetworkClient();
    const failure = await client.sendPostRequestAsync(`https://127.0.0.1:${closed}/token`, { body: 'grant_type=refresh_token' }).catch((e: unknown) => e);
    expect(failure).toMatchObject({ status: 502, code: 'provider_unavailable' });
    expect(client.failure).toBe(failure);
  });

  test('a provider that never answers: cut at the request\'s deadline, which is the failure kept', async () => {
    rig.idp.controls.holdTokenRequests(true);
    const client = new TimedNetworkClient();
    try {
      const failure = await runWithDeadline(300, () => client.sendPostRequestAsync(`${rig.idp.issuer}/token`, { body: 'grant_type=refresh_token' })).catch((e: unknown) => e);
      expect(failure).toMatchObject({ status: 503, code: 'request_deadline_exceeded' });
      // The call itself ends with the same problem once its signal fires.
      for (let i = 0; i < 200 && !client.failure; i++) await new Promise((resolve) => setTimeout(resolve, 5));
      expect(client.failure).toMatchObject({ code: 'request_deadline_exceeded' });
    } finally {
      rig.idp.controls.holdTokenRequests(false);
    }
  });

  test('the hook before a token request sees its form; what it throws cancels the request, and a problem it throws is kept', async () => {
    const seen: string[] = [];
    const before = tokenRequests();
    const refused = new ProblemError('token_cache_unavailable');
    const client = new TimedNetworkClient(async (body) => {
      seen.push(body.toString());
      throw refused;
    });
    await expect(client.sendPostRequestAsync(`${rig.idp.issuer}/token`, { body: 'grant_type=refresh_token&refresh_token=rt' })).rejects.toBe(refused);
    expect(seen).toEqual(['grant_type=refresh_token&refresh_token=rt']);
    expect(client.failure).toBe(refused);
    expect(tokenRequests()).toBe(before);
    // An error that is not a problem is passed on but not kept; a GET never calls the hook.
    const plain = new TimedNetworkClient(async () => {
      throw new Error('other');
    });
    await expect(plain.sendPostRequestAsync(`${rig.idp.issuer}/token`, {})).rejects.toThrow('other');
    const forms: string[] = [];
    await new TimedNetworkClient(async (body) => void forms.push(body.toString())).sendPostRequestAsync(`${rig.idp.issuer}/token`, {});
    expect(forms).toEqual(['']);
    expect(plain.failure).toBeUndefined();
    expect((await plain.sendGetRequestAsync(`${rig.idp.issuer}/jwks`)).status).toBe(200);
  });
});
