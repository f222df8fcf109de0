import { startLocalStack, type LocalStack } from '../../dev/stack';
import { CookieJar, postBack, proxyCall, signIn, signInAtProvider } from '../support/browserless';
import { cacheTable } from '../support/cacheRows';
import { refreshCounts, refreshCountsSince, type RefreshCounts } from '../support/refreshCounts';
import { captureLogLines } from '../../shared/log';

/**
 * Claims challenges with client capability cp1 (Continuous Access Evaluation and
 * authentication contexts): the demo API challenges with `insufficient_claims`; the proxy tries
 * once silently with the claims and, when the user is needed, answers 401 with a loginUrl that
 * carries them. Never more than one silent try and one replay per call.
 */
let stack: LocalStack;

beforeAll(async () => {
  stack = await startLocalStack({ settings: { AzureAd__ClientCapabilities: 'cp1' }, port: 0, log: () => {}, idp: { authority: 'tenant' } });
  await cacheTable(stack).createTable();
});
afterAll(async () => {
  await stack?.close();
});

const counters = () => refreshCounts(stack);
const delta = (before: RefreshCounts) => refreshCountsSince(stack, before);

test('a CAE revocation challenge is answered silently: one refresh with the claims, one replay, 200', async () => {
  const jar = new CookieJar();
  await signIn(stack.appUrl, jar);
  expect((await proxyCall(stack.appUrl, jar, 'demo/profile')).status).toBe(200);

  stack.demoApi!.claimsChallenges.revokeSeenTokens();
  const before = counters();
  const sentBefore = stack.demoApi!.claimsChallenges.sent.revoked;
  const lines: string[] = [];
  captureLogLines((line) => lines.push(line));
  const answer = await proxyCall(stack.appUrl, jar, 'demo/profile').finally(() => captureLogLines(undefined));
  expect(answer.status).toBe(200);
  expect(stack.demoApi!.claimsChallenges.sent.revoked - sentBefore).toBe(1);
  // The log says what was done about the challenge, never the claims.
  const challenges = lines.filter((line) => line.includes('"event":"claims_challenge"'));
  expect(challenges.map((line) => (JSON.parse(line) as { reason?: string }).reason)).toEqual(['silent_retry']);
  console.log(`sample claims_challenge: ${challenges[0]}`);
  expect(delta(before)).toEqual({ refreshes: 1, demoCalls: 2 });
  // The new token is in the cache: the next call needs neither the provider nor a replay.
  const after = counters();
  expect((await proxyCall(stack.appUrl, jar, 'demo/profile')).status).toBe(200);
  expect(delta(after)).toEqual({ refreshes: 0, demoCalls: 1 });
});

test('a step-up challenge the provider will not grant silently: 401 with a loginUrl carrying the claims; after signing in again the call succeeds', async () => {
  const jar = new CookieJar();
  await signIn(stack.appUrl, jar, { username: 'grace@contoso.dev' });

  const before = counters();
  const refused = await proxyCall(stack.appUrl, jar, 'demo/step-up', { headers: { referer: `${stack.appUrl}/api/` } });
  expect(refused.status).toBe(401);
  const problem = (await refused.json()) as { code: string; loginUrl: string };
  expect(problem.code).toBe('interaction_required');
  // The first token for the API, then one silent try with the claims (refused by the provider), no replay.
  expect(delta(before)).toEqual({ refreshes: 2, demoCalls: 1 });
  const login = new URL(problem.loginUrl, stack.appUrl);
  expect(login.pathname).toBe('/api/login');
  expect(JSON.parse(login.searchParams.get('claims')!)).toEqual({ access_token: { acrs: { essential: true, value: 'c1' } } });
  expect(login.searchParams.get('scopes')).toContain('api://demo-api/Data.Read');

  // The authorize request carries the claims, merged with the client capability.
  const loginRedirect = await fetch(new URL(problem.loginUrl, stack.appUrl), { redirect: 'manual' });
  const authorize = new URL(loginRedirect.headers.get('location')!);
  expect(JSON.parse(authorize.searchParams.get('claims')!)).toMatchObject({ access_token: { acrs: { value: 'c1' }, xms_cc: { values: ['cp1'] } } });

  // Signing in again through that loginUrl (the provider asks again: a step-up), then the same call works.
  const answer = await signInAtProvider(stack.appUrl, jar, { loginQuery: login.search.slice(1), username: 'grace@contoso.dev' });
  expect((await postBack(answer, jar)).status).toBe(302);
  const ok = await proxyCall(stack.appUrl, jar, 'demo/step-up');
  expect(ok.status).toBe(200);
  expect(await ok.json()).toMatchObject({ acrs: ['c1'] });
});

test('no loop: an API that challenges again after the silent try gets one refresh and one replay, then the browser is asked', async () => {
  const jar = new CookieJar();
  await signIn(stack.appUrl, jar);
  expect((await proxyCall(stack.appUrl, jar, 'demo/profile')).status).toBe(200);
  stack.demoApi!.claimsChallenges.challengeEveryToken(true);
  try {
    const before = counters();
    const answer = await proxyCall(stack.appUrl, jar, 'demo/profile');
    expect(answer.status).toBe(401);
    expect(await answer.json()).toMatchObject({ code: 'interaction_required', loginUrl: expect.stringContaining('claims=') });
    expect(delta(before)).toEqual({ refreshes: 1, demoCalls: 2 });
  } finally {
    stack.demoApi!.claimsChallenges.challengeEveryToken(false);
  }
});

test('a call with a body (read whole and bounded before the first call) is replayed once with the same body', async () => {
  const jar = new CookieJar();
  await signIn(stack.appUrl, jar);
  expect((await proxyCall(stack.appUrl, jar, 'demo/profile')).status).toBe(200);
  stack.demoApi!.claimsChallenges.revokeSeenTokens();
  const before = counters();
  const answer = await proxyCall(stack.appUrl, jar, 'demo/echo', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"a":1}' });
  expect(answer.status).toBe(200);
  expect(await answer.json()).toMatchObject({ method: 'POST', body: '{"a":1}' });
  expect(delta(before)).toEqual({ refreshes: 1, demoCalls: 2 });
});
