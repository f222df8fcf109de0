import { readBoundedBody } from '../../shared/boundedBody';
import { checkCacheShape } from '../../shared/tokenCache/cacheShape';
import { dependencyTimeout, outboundSignal, runWithDeadline, withTimeout } from '../../shared/deadline';
import { ProblemError } from '../../shared/problems';

describe('readBoundedBody', () => {
  const bytes = (n: number) => new Uint8Array(n).fill(7);
  test('reads a body within the limit, chunked', async () => {
    const body = await readBoundedBody(ReadableStream.from([bytes(3), bytes(4)]), null, 7);
    expect(body?.byteLength).toBe(7);
  });
  test('refuses a declared length over the limit without reading', async () => {
    let pulled = false;
    const stream = new ReadableStream<Uint8Array>({ pull: () => void (pulled = true) }, { highWaterMark: 0 });
    await expect(readBoundedBody(stream, '8', 7)).rejects.toMatchObject({ status: 413, code: 'request_body_too_large' });
    expect(pulled).toBe(false);
  });
  test('refuses a chunked body as soon as it passes the limit', async () => {
    let chunks = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        chunks++;
        controller.enqueue(bytes(4)); // endless: only the limit stops it
      },
    }, { highWaterMark: 0 });
    await expect(readBoundedBody(stream, null, 10)).rejects.toMatchObject({ status: 413 });
    expect(chunks).toBe(3);
  });
  test('no body is null', async () => expect(await readBoundedBody(null, null, 1)).toBeNull());
});

describe('checkCacheShape', () => {
  const credential = { home_account_id: 'h', environment: 'e', credential_type: 'RefreshToken', client_id: 'c', secret: 's' };
  test('an MSAL cache is usable', () => {
    const cache = { Account: { a: { home_account_id: 'h', environment: 'e' } }, RefreshToken: { r: credential }, AccessToken: {}, IdToken: {}, AppMetadata: {} };
    expect(checkCacheShape(JSON.stringify(cache))).toEqual({ usable: true });
  });
  test.each([
    ['{"Account":', 'not_json'],
    ['null', 'wrong_shape'],
    ['[]', 'wrong_shape'],
    ['{"Account":"x"}', 'wrong_shape'],
    ['{"RefreshToken":{"r":{"secret":1}}}', 'wrong_shape'],
    ['{"AccessToken":{"a":{"home_account_id":"h","environment":"e","credential_type":"AccessToken","client_id":"c","secret":"s"}}}', 'wrong_shape'],
  ])('%s is unreadable (%s)', (json, reason) => expect(checkCacheShape(json)).toEqual({ usable: false, reason }));
});

describe('deadlines', () => {
  test('a request that hangs is answered 503 request_deadline_exceeded at its deadline, and its calls are aborted', async () => {
    let seen: AbortSignal | undefined;
    const hung = runWithDeadline(20, async () => {
      seen = outboundSignal(60_000);
      await new Promise<void>((resolve) => seen!.addEventListener('abort', () => resolve()));
      return 'late';
    });
    await expect(hung).rejects.toMatchObject({ status: 503, code: 'request_deadline_exceeded', retryAfterSeconds: 5 });
    expect(seen?.aborted).toBe(true);
  });

  test('a call past its own timeout is a 504 naming the dependency', async () => {
    const call = withTimeout('token_cache', 10, (signal) => new Promise((_, reject) => signal.addEventListener('abort', () => reject(new Error('aborted')))));
    await expect(call).rejects.toMatchObject({ status: 504, code: 'token_cache_timeout', retryAfterSeconds: 5 });
  });

  test('a call that fails on its own keeps its error', async () => {
    const failure = new ProblemError('api_unavailable');
    await expect(withTimeout('api', 1000, async () => Promise.reject(failure))).rejects.toBe(failure);
  });

  test('a finished request leaves its calls alone (a streamed answer goes on)', async () => {
    let signal: AbortSignal | undefined;
    await runWithDeadline(60_000, async () => {
      signal = outboundSignal(60_000);
    });
    expect(signal?.aborted).toBe(false);
  });

  test('timeout problems carry their codes', () => {
    expect(['token_cache', 'provider', 'key_vault', 'managed_identity', 'api'].map((d) => dependencyTimeout(d as never).code)).toEqual([
      'token_cache_timeout',
      'provider_timeout',
      'key_vault_timeout',
      'managed_identity_timeout',
      'api_timeout',
    ]);
  });
});
