import type { AccessToken, TokenCredential } from '@azure/core-auth';
import { ProblemError } from '../../shared/problems';
import { TOKEN_EXCHANGE_SCOPE, managedIdentityAssertion } from '../../shared/credentials/managedIdentityAssertion';

/** A token source that issues numbered tokens with a given lifetime and counts the calls. */
function tokenSource(lifetimeMs: number): TokenCredential & { calls: number; scopes: string[] } {
  const source = {
    calls: 0,
    scopes: [] as string[],
    async getToken(scopes: string | string[]): Promise<AccessToken> {
      source.calls++;
      source.scopes.push(...[scopes].flat());
      await new Promise((resolve) => setImmediate(resolve)); // pending a turn, so concurrent callers overlap
      return { token: `token-${source.calls}`, expiresOnTimestamp: Date.now() + lifetimeMs, tokenType: 'Bearer' };
    },
  };
  return source;
}

const failure = () => new ProblemError('managed_identity_unavailable', 'no token');

afterEach(() => jest.useRealTimers());

test('asks for the token exchange audience once, and concurrent callers share the fetch', async () => {
  const source = tokenSource(24 * 60 * 60 * 1000);
  const assertion = managedIdentityAssertion(source, failure);
  const tokens = await Promise.all([assertion(), assertion(), assertion()]);
  expect(tokens).toEqual(['token-1', 'token-1', 'token-1']);
  expect(await assertion()).toBe('token-1');
  expect(source.calls).toBe(1);
  expect(source.scopes).toEqual([TOKEN_EXCHANGE_SCOPE]);
});

test('is replaced five minutes before it expires, not later', async () => {
  jest.useFakeTimers({ doNotFake: ['setTimeout', 'setImmediate'] });
  const source = tokenSource(60 * 60 * 1000);
  const assertion = managedIdentityAssertion(source, failure);
  expect(await assertion()).toBe('token-1');
  jest.setSystemTime(Date.now() + 54 * 60 * 1000);
  expect(await assertion()).toBe('token-1');
  jest.setSystemTime(Date.now() + 2 * 60 * 1000);
  expect(await assertion()).toBe('token-2');
});

test('a short-lived token is replaced halfway through its life', async () => {
  jest.useFakeTimers({ doNotFake: ['setTimeout', 'setImmediate'] });
  const source = tokenSource(4 * 60 * 1000);
  const assertion = managedIdentityAssertion(source, failure);
  await assertion();
  jest.setSystemTime(Date.now() + 60 * 1000);
  expect(await assertion()).toBe('token-1');
  jest.setSystemTime(Date.now() + 90 * 1000);
  expect(await assertion()).toBe('token-2');
});

test('a failed fetch becomes the given problem and is not kept', async () => {
  let fail = true;
  const source: TokenCredential = {
    async getToken() {
      if (fail) throw new Error('endpoint down');
      return { token: 'fresh', expiresOnTimestamp: Date.now() + 3600_000, tokenType: 'Bearer' };
    },
  };
  const assertion = managedIdentityAssertion(source, failure);
  await expect(assertion()).rejects.toMatchObject({ code: 'managed_identity_unavailable' });
  fail = false;
  expect(await assertion()).toBe('fresh');
});
