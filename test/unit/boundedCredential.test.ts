import type { AccessToken, GetTokenOptions, TokenCredential } from '@azure/core-auth';
import { boundedCredential } from '../../shared/credentials/azureIdentity';

/** A credential whose token request never settles and ignores the abort signal, as @azure/identity's managed identity source does with a hung endpoint. */
function hungCredential(): TokenCredential & { signals: (AbortSignal | undefined)[] } {
  const signals: (AbortSignal | undefined)[] = [];
  return { signals, getToken: (_scopes: string | string[], options?: GetTokenOptions) => (signals.push(options?.abortSignal as AbortSignal | undefined), new Promise<AccessToken | null>(() => {})) };
}

test('a token request that never settles is cut after the bound with a TimeoutError, and the inner call is told to stop', async () => {
  const inner = hungCredential();
  await expect(boundedCredential(inner, 50).getToken('https://vault.azure.net/.default')).rejects.toMatchObject({ name: 'TimeoutError' });
  expect(inner.signals[0]?.aborted).toBe(true);
});

test("the caller's abort ends the request at once, with the caller's reason", async () => {
  const caller = new AbortController();
  const pending = boundedCredential(hungCredential(), 60_000).getToken('scope', { abortSignal: caller.signal });
  const reason = new Error('deadline');
  caller.abort(reason);
  await expect(pending).rejects.toBe(reason);
});

test('a token that comes in time passes through', async () => {
  const token = { token: 't', expiresOnTimestamp: Date.now() + 60_000 };
  await expect(boundedCredential({ getToken: async () => token }, 60_000).getToken('scope')).resolves.toBe(token);
});
