import { CookieJar, proxyCall, send, signIn } from '../support/browserless';
import { expireAccessTokens } from '../support/cacheRows';
import type { FaultMode, FaultProxy } from '../support/faultProxy';
import { ADA, API_TIMEOUT_SECONDS, GRACE, MARGIN_MS, startTwoApps, type FaultApp, type FaultStack } from './support/faultStack';
import { outcome, timed, type TimedAnswer } from './support/calls';
import { recordFigure } from './support/figures';

/**
 * Each dependency in turn accepts connections and never answers (or is stopped, or answers
 * garbage), with two app processes running: the caller that needs it gets the catalogue's
 * 503/504 with its stable code and Retry-After within the dependency's timeout plus a margin;
 * the same process and the other one keep serving users who do not need it meanwhile; and
 * both serve again, by themselves, once the dependency is back.
 */
/**
 * The limits the README writes down ("Limits and timeouts"), as numbers here rather than the
 * code's constants: a timeout raised in the code makes the suite fail.
 */
const TABLE_TIMEOUT_MS = 5_000; // per attempt, one retry, a pause of at most 1 s
const PROVIDER_TIMEOUT_MS = 10_000;
const KEY_VAULT_TIMEOUT_MS = 5_000; // per attempt, two retries with pauses of at most 2 s
const AZURE_IDENTITY_TIMEOUT_MS = 15_000; // 5 s per attempt, 15 s in all

let stack: FaultStack;
let a: FaultApp;
let b: FaultApp;
const ada = new CookieJar();
const grace = new CookieJar();

beforeAll(async () => {
  ({ stack, a, b } = await startTwoApps({ moreAppNames: ['cold', 'vault'] }));
  await signIn(a.url, ada, { username: ADA });
  await signIn(b.url, grace, { username: GRACE });
  // Each process has used the demo API once for each user: tokens cached, the API's keys loaded.
  for (const app of [a, b]) for (const jar of [ada, grace]) expect((await proxyCall(app.url, jar, 'demo/profile')).status).toBe(200);
});
afterAll(async () => {
  await stack?.close();
});

/** Calls that must succeed while a dependency is down, each answered before the failing call. */
async function servedMeanwhile(calls: Record<string, () => Promise<Response>>): Promise<Record<string, TimedAnswer>> {
  const answers = Object.fromEntries(await Promise.all(Object.entries(calls).map(async ([name, call]) => [name, await timed(call)] as const)));
  for (const [name, answer] of Object.entries(answers)) expect({ name, status: answer.status }).toEqual({ name, status: 200 });
  return answers;
}

/** The failing call's answer: the right problem, Retry-After, within the bound; the other calls answered before it. */
async function expectBoundedFailure(what: string, failing: Promise<TimedAnswer>, expected: { status: number; code: string; boundMs: number; source?: string }, others: Record<string, () => Promise<Response>>): Promise<void> {
  const meanwhile = await servedMeanwhile(others);
  const answer = await failing;
  const sources = (answer.body['sources'] as { code?: string }[] | undefined)?.map((s) => s.code).join(', ');
  recordFigure({ table: 'time to answer', what, answer: `${outcome(answer)}${sources ? ` (${sources})` : ''}`, ms: answer.ms, boundMs: expected.boundMs });
  expect({ status: answer.status, code: answer.body['code'] }).toEqual({ status: expected.status, code: expected.code });
  expect(answer.retryAfter).toBe('5');
  expect(answer.ms).toBeLessThanOrEqual(expected.boundMs);
  if (expected.source) expect(answer.body['sources']).toEqual([{ setting: 'AzureAd__ClientCredentials__0', code: expected.source }]);
  // A dependency that holds the call: the others were answered while it waited (one that fails at once proves nothing here).
  if (expected.status === 504 || answer.ms > 1000) for (const [name, other] of Object.entries(meanwhile)) expect({ name, before: other.at < answer.at }).toEqual({ name, before: true });
}

async function withFault<T>(proxy: FaultProxy, mode: FaultMode, work: () => Promise<T>): Promise<T> {
  proxy.mode = mode;
  try {
    return await work();
  } finally {
    proxy.mode = 'pass';
  }
}

async function expectServing(apps: readonly FaultApp[], jar: CookieJar): Promise<void> {
  for (const app of apps) {
    const answer = await timed(() => proxyCall(app.url, jar, 'demo/profile'));
    expect({ app: app.name, answer: outcome(answer) }).toEqual({ app: app.name, answer: '200' });
  }
}

test('Table black-holed for one process: 504 token_cache_timeout; that process answers what needs no Table, the other serves; it recovers', async () => {
  await withFault(a.proxies.table, 'blackhole', () =>
    expectBoundedFailure(
      'Table (black-holed)',
      timed(() => proxyCall(a.url, ada, 'demo/profile')),
      { status: 504, code: 'token_cache_timeout', boundMs: 2 * TABLE_TIMEOUT_MS + 1000 + MARGIN_MS },
      { 'health on a': () => send(`${a.url}/api/health`, undefined), 'grace on b': () => proxyCall(b.url, grace, 'demo/profile') },
    ),
  );
  await expectServing([a, b], ada);
});

test('Table stopped, then answering garbage: 503 token_cache_unavailable at once, and it recovers', async () => {
  await withFault(a.proxies.table, 'refuse', () =>
    expectBoundedFailure('Table (stopped)', timed(() => proxyCall(a.url, ada, 'demo/profile')), { status: 503, code: 'token_cache_unavailable', boundMs: MARGIN_MS }, {
      'grace on b': () => proxyCall(b.url, grace, 'demo/profile'),
    }),
  );
  await withFault(a.proxies.table, 'corrupt', () =>
    expectBoundedFailure('Table (garbled answers)', timed(() => proxyCall(a.url, ada, 'demo/profile')), { status: 503, code: 'token_cache_unavailable', boundMs: MARGIN_MS }, {
      'grace on b': () => proxyCall(b.url, grace, 'demo/profile'),
    }),
  );
  await expectServing([a, b], ada);
});

test('Table slowed (every chunk 1 s late), still inside its timeout: the call succeeds, slowly', async () => {
  a.proxies.table.delayMs = 1000;
  const answer = await withFault(a.proxies.table, 'slow', () => timed(() => proxyCall(a.url, ada, 'demo/profile')));
  recordFigure({ table: 'time to answer', what: 'Table (slowed, 1 s per chunk)', answer: outcome(answer), ms: answer.ms, boundMs: TABLE_TIMEOUT_MS + MARGIN_MS });
  expect(outcome(answer)).toBe('200');
  // The request's bytes and the answer's each waited: the slowdown was on the path.
  expect(answer.ms).toBeGreaterThanOrEqual(2000);
  expect(answer.ms).toBeLessThanOrEqual(TABLE_TIMEOUT_MS + MARGIN_MS);
});

test('token endpoint black-holed during a refresh: 504 provider_timeout; users with valid tokens are served by both processes; both recover', async () => {
  await expireAccessTokens(stack.rows, ADA);
  const before = stack.idp.stats.requests.token;
  await withFault(stack.provider, 'blackhole', () =>
    expectBoundedFailure('provider token endpoint (black-holed, warm process)', timed(() => proxyCall(a.url, ada, 'demo/profile')), { status: 504, code: 'provider_timeout', boundMs: PROVIDER_TIMEOUT_MS + MARGIN_MS }, {
      'grace on a': () => proxyCall(a.url, grace, 'demo/profile'),
      'grace on b': () => proxyCall(b.url, grace, 'demo/profile'),
    }),
  );
  // The token request never reached the provider while the proxy held it.
  expect(stack.idp.stats.requests.token).toBe(before);
  await expectServing([a, b], ada);
  expect(stack.idp.stats.grants.refresh_token).toBeGreaterThanOrEqual(1);
});

test('provider black-holed when a process starts (discovery): 504 provider_timeout at sign-in; the warm process serves; the cold one recovers', async () => {
  const jar = new CookieJar();
  let cold: FaultApp | undefined;
  await withFault(stack.provider, 'blackhole', async () => {
    cold = await stack.startApp('cold');
    await expectBoundedFailure('provider discovery (black-holed, cold process)', timed(() => send(`${cold!.url}/api/login?returnUrl=%2F`, jar)), { status: 504, code: 'provider_timeout', boundMs: PROVIDER_TIMEOUT_MS + MARGIN_MS }, {
      'ada on a': () => proxyCall(a.url, ada, 'demo/profile'),
      'grace on b': () => proxyCall(b.url, grace, 'demo/profile'),
    });
  });
  await signIn(cold!.url, jar, { username: ADA });
  await expectServing([cold!], jar);
  await cold!.stop();
});

test('downstream API black-holed: 504 api_timeout after its TimeoutSeconds; the process serves other routes, the other process the API; it recovers', async () => {
  await withFault(a.proxies.api, 'blackhole', () =>
    expectBoundedFailure(`downstream API (black-holed, TimeoutSeconds ${API_TIMEOUT_SECONDS})`, timed(() => proxyCall(a.url, ada, 'demo/profile')), { status: 504, code: 'api_timeout', boundMs: API_TIMEOUT_SECONDS * 1000 + MARGIN_MS }, {
      'me on a': () => send(`${a.url}/api/me?slide=false`, grace),
      'grace on b': () => proxyCall(b.url, grace, 'demo/profile'),
    }),
  );
  await expectServing([a, b], ada);
});

test('managed identity endpoint, then Key Vault, black-holed when a process starts: sign-in answers 503/504 with Retry-After; the warm processes serve; it recovers', async () => {
  const vaultApp = await stack.startApp('vault', { credential: 'keyVault', faults: { identity: 'blackhole' } });
  const { identity, keyVault } = vaultApp.proxies;
  // The sign-in's first step already needs the client credential (MSAL's confidential client builds the authorization URL).
  const attempt = () => timed(() => send(`${vaultApp.url}/api/login?returnUrl=%2F`, undefined));
  try {
    await expectBoundedFailure('managed identity endpoint (black-holed, cold process)', attempt(), { status: 503, code: 'client_credential_unavailable', source: 'key_vault_sign_in_failed', boundMs: AZURE_IDENTITY_TIMEOUT_MS + MARGIN_MS }, {
      'ada on a': () => proxyCall(a.url, ada, 'demo/profile'),
      'grace on b': () => proxyCall(b.url, grace, 'demo/profile'),
    });
  } finally {
    identity!.mode = 'pass';
  }
  await withFault(keyVault!, 'blackhole', () =>
    expectBoundedFailure('Key Vault (black-holed, cold process)', attempt(), { status: 503, code: 'client_credential_unavailable', source: 'key_vault_unreachable', boundMs: 3 * KEY_VAULT_TIMEOUT_MS + 2 * 2000 + MARGIN_MS }, {
      'ada on a': () => proxyCall(a.url, ada, 'demo/profile'),
      'grace on b': () => proxyCall(b.url, grace, 'demo/profile'),
    }),
  );
  const jar = new CookieJar();
  await signIn(vaultApp.url, jar, { username: GRACE });
  await expectServing([vaultApp], jar);
  await vaultApp.stop();
});
