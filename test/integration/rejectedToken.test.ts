import { startLocalStack, type LocalStack } from '../../dev/stack';
import type { LocalFunctionsHost } from '../../dev/host';
import { CookieJar, proxyCall, signIn } from '../support/browserless';
import { cacheTable } from '../support/cacheRows';
import { refreshCounts, refreshCountsSince, type RefreshCounts } from '../support/refreshCounts';
import { captureLogLines } from '../../shared/log';

/**
 * A token the API refuses although the cache holds it as valid (revoked, keys rolled): the
 * demo API revokes every token it has seen and, to a client without cp1, answers 401
 * `invalid_token`. The proxy forces one refresh and replays the call once; when the API refuses
 * the new token too, 401 `token_rejected` with a loginUrl. Never more than one refresh and two
 * API calls per incoming call.
 */
let stack: LocalStack;
let second: LocalFunctionsHost;

beforeAll(async () => {
  stack = await startLocalStack({ settings: {}, port: 0, log: () => {} });
  await cacheTable(stack).createTable();
  second = await stack.startInstance();
});
afterAll(async () => {
  await stack?.close();
});

const counters = () => refreshCounts(stack);
const delta = (before: RefreshCounts) => refreshCountsSince(stack, before);

async function signedInWithToken(): Promise<CookieJar> {
  const jar = new CookieJar();
  await signIn(stack.appUrl, jar);
  expect((await proxyCall(stack.appUrl, jar, 'demo/profile')).status).toBe(200);
  return jar;
}

test('a revoked token: the API answers 401, one forced refresh, the replay answers 200, and the next call uses the new token', async () => {
  const jar = await signedInWithToken();
  stack.demoApi!.claimsChallenges.revokeSeenTokens();
  const rejectedBefore = stack.demoApi!.stats.rejected;
  const before = counters();
  const lines: string[] = [];
  captureLogLines((line) => lines.push(line));
  const answer = await proxyCall(stack.appUrl, jar, 'demo/profile').finally(() => captureLogLines(undefined));
  expect(answer.status).toBe(200);
  expect(await answer.json()).toMatchObject({ user: { name: 'Ada Lovelace' } });
  expect(delta(before)).toEqual({ refreshes: 1, demoCalls: 2 });
  expect(stack.demoApi!.stats.rejected - rejectedBefore).toBe(0); // refused as revoked, not as malformed
  const events = lines.filter((line) => line.includes('"event":"token_rejected"')).map((line) => (JSON.parse(line) as { reason?: string }).reason);
  expect(events).toEqual(['silent_retry']);

  const after = counters();
  expect((await proxyCall(stack.appUrl, jar, 'demo/profile')).status).toBe(200);
  expect(delta(after)).toEqual({ refreshes: 0, demoCalls: 1 });
});

test('a call with a buffered body is replayed with the same body', async () => {
  const jar = await signedInWithToken();
  stack.demoApi!.claimsChallenges.revokeSeenTokens();
  const before = counters();
  const answer = await proxyCall(stack.appUrl, jar, 'demo/echo', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"a":1}' });
  expect(answer.status).toBe(200);
  expect(await answer.json()).toMatchObject({ method: 'POST', body: '{"a":1}' });
  expect(delta(before)).toEqual({ refreshes: 1, demoCalls: 2 });
});

test('no loop: an API that refuses the new token too gets one refresh and two calls, then 401 token_rejected with a loginUrl', async () => {
  const jar = await signedInWithToken();
  stack.demoApi!.claimsChallenges.challengeEveryToken(true);
  try {
    const before = counters();
    const answer = await proxyCall(stack.appUrl, jar, 'demo/profile', { headers: { referer: `${stack.appUrl}/api/` } });
    expect(answer.status).toBe(401);
    expect(answer.headers.get('content-type')).toContain('application/problem+json');
    const problem = (await answer.json()) as { code: string; loginUrl: string };
    expect(problem.code).toBe('token_rejected');
    expect(new URL(problem.loginUrl, stack.appUrl).pathname).toBe('/api/login');
    expect(delta(before)).toEqual({ refreshes: 1, demoCalls: 2 });
  } finally {
    stack.demoApi!.claimsChallenges.challengeEveryToken(false);
  }
});

test('a 401 without a Bearer challenge is the API\'s own answer: passed through, no refresh', async () => {
  const jar = await signedInWithToken();
  const before = counters();
  const answer = await proxyCall(stack.appUrl, jar, 'demo/status/401');
  expect(answer.status).toBe(401);
  expect(await answer.json()).toEqual({ status: 401 });
  expect(delta(before)).toEqual({ refreshes: 0, demoCalls: 1 });
});

test('50 concurrent calls with a revoked token: all 200 with one refresh in one instance; across two instances, at most two', async () => {
  const jar = await signedInWithToken();
  for (const [label, urls] of [['one instance', [stack.appUrl]], ['two instances', [stack.appUrl, second.url]]] as const) {
    stack.demoApi!.claimsChallenges.revokeSeenTokens();
    const before = counters();
    const answers = await Promise.all(Array.from({ length: 50 }, (_, i) => proxyCall(urls[i % urls.length]!, jar, 'demo/profile')));
    const statuses = answers.map((r) => r.status);
    await Promise.all(answers.map((r) => r.arrayBuffer()));
    const { refreshes, demoCalls } = delta(before);
    console.log(`figure: revoked token, 50 concurrent calls (${label}): ${statuses.filter((s) => s !== 200).length} errors, ${refreshes} provider refreshes, ${demoCalls} API calls`);
    expect(statuses).toEqual(Array.from({ length: 50 }, () => 200));
    if (urls.length === 1) expect(refreshes).toBe(1);
    else expect(refreshes).toBeLessThanOrEqual(2);
    expect(demoCalls).toBeLessThanOrEqual(100);
  }
});

test('a refresh the provider refuses (the refresh token revoked too): 401 interaction_required with a loginUrl, one API call, no replay', async () => {
  const jar = await signedInWithToken();
  stack.demoApi!.claimsChallenges.revokeSeenTokens();
  stack.idp!.controls.revokeRefreshTokens();
  const before = counters();
  const answer = await proxyCall(stack.appUrl, jar, 'demo/profile');
  expect(answer.status).toBe(401);
  const problem = (await answer.json()) as { code: string; loginUrl: string };
  expect(problem.code).toBe('interaction_required');
  expect(new URL(problem.loginUrl, stack.appUrl).pathname).toBe('/api/login');
  expect(delta(before)).toEqual({ refreshes: 1, demoCalls: 1 });
});
