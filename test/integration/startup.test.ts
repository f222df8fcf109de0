import { startLocalStack, type LocalStack } from '../../dev/stack';
import { findFreePort } from '../../dev/azurite';
import { startLocalFunctionsHost } from '../../dev/host';
import { createHttpFunctions } from '../../functions/app';
import { runtimeSource } from '../../shared/runtime';
import { send } from '../support/browserless';

/**
 * What a newcomer sees at start-up and at /api/health: the log says what the local stack made up,
 * and health is ok only for a configuration that can sign someone in.
 */
let stack: LocalStack;
const logs: string[] = [];

beforeAll(async () => {
  stack = await startLocalStack({ settings: {}, port: 0, log: (line) => logs.push(line) });
});
afterAll(async () => {
  await stack?.close();
});

async function eventually(check: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('the condition did not come true in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

test('with no settings, the start-up log says the local stack generated the client secret, not that the user set one', async () => {
  await eventually(() => logs.some((line) => line.startsWith('client credential:')));
  const line = logs.find((l) => l.startsWith('client credential:'))!;
  expect(line).toBe('client credential: AzureAd__ClientCredentials__0 (a client secret the local stack generated for this run and registered with its dev provider)');
  expect(logs.join('\n')).not.toContain('from app settings');
});

test('/api/health is ok when someone can sign in', async () => {
  const health = await send(`${stack.appUrl}/api/health`, undefined);
  expect(health.status).toBe(200);
  expect(await health.json()).toMatchObject({ status: 'ok', authority: 'oidc', apis: ['demo'] });
});

test('/api/health is 503 for a configuration whose provider cannot be reached, and names the check', async () => {
  const closedPort = await findFreePort();
  const runtime = runtimeSource({ ...stack.settings, AzureAd__Authority: `https://127.0.0.1:${closedPort}` }, { log: () => {} });
  const host = await startLocalFunctionsHost({ functions: createHttpFunctions(runtime), port: 0, hostname: '127.0.0.1', log: () => {} });
  try {
    const health = await send(`${host.url}/api/health`, undefined);
    expect(health.status).toBe(503);
    expect(health.headers.get('content-type')).toBe('application/problem+json');
    expect(await health.json()).toMatchObject({ code: 'not_ready', check: 'provider', cause: 'provider_unavailable' });
  } finally {
    await host.close();
  }
});

test('/api/health is 503 when no client credential loads', async () => {
  const runtime = runtimeSource({ ...stack.settings }, { log: () => {}, credentialLoaders: { ClientSecret: () => Promise.reject(new Error('no secret')) } });
  const host = await startLocalFunctionsHost({ functions: createHttpFunctions(runtime), port: 0, hostname: '127.0.0.1', log: () => {} });
  try {
    const health = await send(`${host.url}/api/health`, undefined);
    expect(health.status).toBe(503);
    expect(await health.json()).toMatchObject({ code: 'not_ready', check: 'client_credential', cause: 'client_credential_unavailable' });
  } finally {
    await host.close();
  }
});
