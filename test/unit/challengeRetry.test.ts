import { answerTokenChallenge } from '../../shared/proxy/challengeRetry';
import type { ProxiedAnswer } from '../../shared/proxy/forward';
import type { Reacquire } from '../../shared/auth/accountTokens';
import { ProblemError } from '../../shared/problems';
import { captureLogLines } from '../../shared/log';

/** What the proxy does with a downstream 401 a new token may answer: one silent try, then the browser. */
const claims = { access_token: { acrs: { essential: true, value: 'c1' } } };
const challenge = (value: object) => `Bearer error="insufficient_claims", claims="${Buffer.from(JSON.stringify(value)).toString('base64')}"`;

function answer(status: number, wwwAuthenticate?: string): ProxiedAnswer & { cancelled: () => boolean } {
  let cancelled = false;
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      controller.enqueue(new TextEncoder().encode('body'));
      controller.close();
    },
    cancel() {
      cancelled = true;
    },
  });
  return { status, headers: wwwAuthenticate ? { 'www-authenticate': wwwAuthenticate } : {}, body, cancelled: () => cancelled };
}

let lines: Record<string, unknown>[];
beforeEach(() => {
  lines = [];
  captureLogLines((line) => lines.push(JSON.parse(line) as Record<string, unknown>));
});
afterEach(() => captureLogLines(undefined));

function run(first: ProxiedAnswer, second: ProxiedAnswer | (() => ProxiedAnswer), replayable = true) {
  const asked: Reacquire[] = [];
  const forwarded: string[] = [];
  const result = answerTokenChallenge(first, {
    replayable,
    loginUrl: '/api/login?returnUrl=%2Fx',
    accessToken: 'first-token',
    reacquire: async (again) => {
      asked.push(again);
      return `token-${asked.length}`;
    },
    forward: async (token) => {
      forwarded.push(token);
      return typeof second === 'function' ? second() : second;
    },
  });
  return { result, asked, forwarded };
}

function loginUrlOf(failure: unknown): URL {
  return new URL((failure as ProblemError).extensions['loginUrl'] as string, 'http://app.invalid');
}

test.each([
  ['a success', 200, undefined],
  ['a 403', 403, 'Bearer error="insufficient_scope"'],
  ['a 401 of another scheme', 401, 'Basic realm="x"'],
  ['a 401 with another Bearer error', 401, 'Bearer error="insufficient_scope"'],
  ['a 401 without a challenge', 401, undefined],
])('%s passes through untouched, with nothing acquired or logged', async (_name, status, header) => {
  const first = answer(status, header);
  const { result, asked, forwarded } = run(first, answer(200));
  expect(await result).toBe(first);
  expect(first.cancelled()).toBe(false);
  expect(asked).toEqual([]);
  expect(forwarded).toEqual([]);
  expect(lines).toEqual([]);
});

test('a claims challenge: the first answer dropped, a token with the claims, the call sent once more', async () => {
  const first = answer(401, challenge(claims));
  const second = answer(200);
  const { result, asked, forwarded } = run(first, second);
  expect(await result).toBe(second);
  expect(first.cancelled()).toBe(true);
  expect(asked).toHaveLength(1);
  expect(JSON.parse((asked[0] as { claims: string }).claims)).toEqual(claims);
  expect(forwarded).toEqual(['token-1']);
  expect(lines).toEqual([expect.objectContaining({ event: 'claims_challenge', reason: 'silent_retry' })]);
  expect(JSON.stringify(lines)).not.toContain('acrs');
});

test.each([['Bearer error="invalid_token"'], ['Bearer realm="api"'], ['Bearer']])('a refused token (%s): one forced refresh naming the token refused, the call sent once more', async (header) => {
  const first = answer(401, header);
  const second = answer(200);
  const { result, asked, forwarded } = run(first, second);
  expect(await result).toBe(second);
  expect(first.cancelled()).toBe(true);
  expect(asked).toEqual([{ rejectedToken: 'first-token' }]);
  expect(forwarded).toEqual(['token-1']);
  expect(lines).toEqual([expect.objectContaining({ event: 'token_rejected', reason: 'silent_retry' })]);
});

test('a claims challenge on a call that cannot be sent again: 401 interaction_required, the claims in loginUrl, nothing acquired', async () => {
  const first = answer(401, challenge(claims));
  const { result, asked, forwarded } = run(first, answer(200), false);
  const failure = await result.catch((e: unknown) => e);
  expect(failure).toBeInstanceOf(ProblemError);
  expect(failure).toMatchObject({ status: 401, code: 'interaction_required' });
  const loginUrl = loginUrlOf(failure);
  expect(loginUrl.pathname).toBe('/api/login');
  expect(loginUrl.searchParams.get('returnUrl')).toBe('/x');
  expect(JSON.parse(loginUrl.searchParams.get('claims')!)).toEqual(claims);
  expect(first.cancelled()).toBe(true);
  expect(asked).toEqual([]);
  expect(forwarded).toEqual([]);
  expect(lines).toEqual([expect.objectContaining({ event: 'claims_challenge', reason: 'body_spent' })]);
});

test('a refused token on a call that cannot be sent again: 401 token_rejected with the plain loginUrl', async () => {
  const { result, asked } = run(answer(401, 'Bearer error="invalid_token"'), answer(200), false);
  const failure = await result.catch((e: unknown) => e);
  expect(failure).toMatchObject({ status: 401, code: 'token_rejected', extensions: { loginUrl: '/api/login?returnUrl=%2Fx' } });
  expect((failure as ProblemError).detail).toMatch(/refuses the token.*sign in again/);
  expect(asked).toEqual([]);
  expect(lines).toEqual([expect.objectContaining({ event: 'token_rejected', reason: 'body_spent' })]);
});

test('an API that asks again: no second silent try, 401 with the claims it asked for the second time', async () => {
  const again = { access_token: { acrs: { essential: true, value: 'c2' } } };
  const second = answer(401, challenge(again));
  const { result, asked, forwarded } = run(answer(401, challenge(claims)), second);
  const failure = await result.catch((e: unknown) => e);
  expect(asked).toHaveLength(1);
  expect(forwarded).toHaveLength(1);
  expect(second.cancelled()).toBe(true);
  expect(failure).toMatchObject({ status: 401, code: 'interaction_required' });
  expect((failure as ProblemError).detail).toMatch(/claims a silent token request cannot give/);
  expect(JSON.parse(loginUrlOf(failure).searchParams.get('claims')!)).toEqual(again);
  expect(lines).toEqual([
    expect.objectContaining({ event: 'claims_challenge', reason: 'silent_retry' }),
    expect.objectContaining({ event: 'claims_challenge', outcome: 'failed', reason: 'asked_again' }),
  ]);
});

test('a new token the API refuses too: 401 token_rejected, logged as failed', async () => {
  const second = answer(401, 'Bearer error="invalid_token"');
  const { result, asked } = run(answer(401, 'Bearer error="invalid_token"'), second);
  const failure = await result.catch((e: unknown) => e);
  expect(failure).toMatchObject({ status: 401, code: 'token_rejected' });
  expect(asked).toHaveLength(1);
  expect(second.cancelled()).toBe(true);
  expect(lines.at(-1)).toMatchObject({ event: 'token_rejected', outcome: 'failed', reason: 'asked_again' });
});

test('answers without a body are handled too', async () => {
  const bare = (status: number, header?: string): ProxiedAnswer => ({ status, headers: header ? { 'www-authenticate': header } : {}, body: null });
  expect((await run(bare(401, challenge(claims)), bare(204)).result).status).toBe(204);
  await expect(run(bare(401, challenge(claims)), bare(401, challenge(claims))).result).rejects.toMatchObject({ code: 'interaction_required' });
});
