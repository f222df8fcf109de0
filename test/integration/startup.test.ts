import { startLocalStack, type LocalStack } from '../../dev/stack';
import { findFreePort } from '../../dev/azurite';
import { startLocalFunctionsHost } from '../../dev/host';
import { createHttpFunctions } from '../../functions/app';
import { runtimeSource } from '../../shared/runtime';
import { send } from '../support/browserless';
import { Signal } from '../support/signal';

/**
 * What a newcomer sees at start-up and at /api/health: the log says what the local stack made up,
 * and health is ok only for a configuration that can sign someone in.
 */
let stack: LocalStack;
const logs: string[] = [];
const logged = new Signal();

beforeAll(async () => {
  stack = await startLocalStack({ settings: {}, port: 0, log: (line) => {
    logs.push(line);
    logged.notify();
  } });
});
afterAll(async () => {
  await stack?.close();
});

test('with no settings, the start-up log says the local stack generated the client secret, not that the user set one', async () => {
  await logged.until(() => logs.some((line) => line.startsWith('client credential:')));
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

describe('one origin: the redirect URI\'s', () => {
  test('the route list printed at start-up uses it, never the listening address', () => {
    const routes = logs.filter((line) => /^\w+: \[[A-Z,]+\] /.test(line));
    expect(routes.length).toBeGreaterThan(5);
    for (const line of routes) expect(line).toContain(` ${stack.appUrl}/api/`);
    expect(stack.appUrl).toBe(new URL(stack.settings['AzureAd__RedirectUri']!).origin);
  });

  test('a sign-in started at 127.0.0.1 is sent to the same path on localhost first', async () => {
    const port = new URL(stack.appUrl).port;
    const response = await send(`http://127.0.0.1:${port}/api/login?returnUrl=%2Fapi%2F&scopes=api%3A%2F%2Fdemo-api%2FData.Read`, undefined);
    expect(response.status).toBe(302);
    expect(response.headers.get('location')).toBe(`${stack.appUrl}/api/login?returnUrl=%2Fapi%2F&scopes=api%3A%2F%2Fdemo-api%2FData.Read`);
    // No auth-request cookie on the wrong origin: it could never be read back.
    expect(response.headers.getSetCookie()).toEqual([]);
    const right = await send(response.headers.get('location')!, undefined);
    expect(right.status).toBe(302);
    expect(new URL(right.headers.get('location')!).pathname).toBe('/authorize');
  });

  test('a callback without the sign-in\'s cookie names the address to open', async () => {
    const response = await send(`${stack.appUrl}/api/redirect`, undefined, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' }, body: 'code=x&state=y' });
    expect(response.status).toBe(400);
    const body = (await response.json()) as { code: string; detail: string };
    expect(body.code).toBe('state_missing');
    expect(body.detail).toContain(`Open ${stack.appUrl}/api/ and sign in again.`);
  });
});
