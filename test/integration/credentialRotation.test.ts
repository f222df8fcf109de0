import { randomBytes } from 'node:crypto';
import { runtimeSource } from '../../shared/runtime';
import { createHttpFunctions } from '../../functions/app';
import { startLocalStack, type LocalStack } from '../../dev/stack';
import { startLocalFunctionsHost } from '../../dev/host';
import { findFreePort, startAzuriteTable, type AzuriteTable } from '../../dev/azurite';
import { createDevCertificates, trustCertificateAuthority } from '../../dev/tls';
import { CookieJar, postBack, proxyCall, send, signInAtProvider } from '../support/browserless';
import { expireAccessTokens } from '../support/cacheRows';
import { startKeyVaultServer, type KeyVaultServer } from '../support/keyVaultServer';
import { captureLogLines } from '../../shared/log';
import { VAULT_TOKEN, keyVaultSecretSettings, newSessionKeys, signInAndCallApi, vaultRuntimeOptions } from '../support/credentialStack';

/**
 * The client secret lives in Key Vault and is cached in memory: rotation (the provider refuses
 * the old value, one reload shared by every request that saw the refusal, one retry), the
 * number of Key Vault calls on the proxied path, and a vault that is down at start or later.
 */
const SECRET_NAME = 'app-secret';
let vault: KeyVaultServer;
let azurite: AzuriteTable;
let stack: LocalStack;
let logs: string[] = [];

beforeAll(async () => {
  const tls = createDevCertificates();
  trustCertificateAuthority(tls.caCertPem);
  vault = await startKeyVaultServer({ tls, authorize: (token) => token === VAULT_TOKEN });
  azurite = await startAzuriteTable();
  const secret = randomBytes(24).toString('base64url');
  vault.setSecret(SECRET_NAME, secret);
  stack = await startLocalStack({
    settings: { TokenCache__ConnectionString: azurite.connectionString, ...keyVaultSecretSettings(vault, SECRET_NAME) },
    port: 0,
    log: () => {},
    idp: { client: { clientSecret: secret } },
    runtime: vaultRuntimeOptions((line) => logs.push(line)),
  });
});
afterAll(async () => {
  await stack?.close();
  await vault?.start();
  await vault?.close();
  await azurite?.close();
});

/** A new secret: in the vault first (as an operator rotates), then the provider stops accepting the old one. */
function rotateSecret(): string {
  const next = randomBytes(24).toString('base64url');
  vault.setSecret(SECRET_NAME, next);
  stack.idp!.controls.clientSecret(stack.devClient!.clientId, next);
  return next;
}

/** The counters a rotation moves: vault reads, credential loads, token endpoint requests. */
async function counters() {
  return { vaultReads: vault.stats.reads, loads: (await stack.runtime.get()).credentials.loads, tokenRequests: stack.idp!.stats.requests.token };
}

test('rotation: the provider refuses the old secret, one reload from the vault, the request succeeds', async () => {
  const jar = await signInAndCallApi(stack);
  const before = await counters();

  rotateSecret();
  await expireAccessTokens(stack); // the next proxied call must go to the provider, with the cached (old) secret
  const lines: string[] = [];
  captureLogLines((line) => lines.push(line));
  const answer = await proxyCall(stack.appUrl, jar, 'demo/profile').finally(() => captureLogLines(undefined));
  expect(answer.status).toBe(200);
  // The structured log: one credential_reload event inside the proxied request that hit the refusal.
  const records = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
  const reloads = records.filter((r) => r['event'] === 'credential_reload');
  expect(reloads).toHaveLength(1);
  expect(reloads[0]?.['invocationId']).toBe(records.find((r) => r['type'] === 'request')?.['invocationId']);
  console.log(`sample credential_reload: ${lines.find((line) => line.includes('"credential_reload"'))}`);

  const after = await counters();
  expect(after.vaultReads - before.vaultReads).toBe(1);
  expect(after.loads - before.loads).toBe(1);
  expect(after.tokenRequests - before.tokenRequests).toBe(2); // refused, then accepted
  expect(logs).toContain('the provider refused the client credential: reloading it once');
});

test('rotation under concurrent requests: every request that saw the refusal shares one reload', async () => {
  const ada = await signInAndCallApi(stack, 'ada@contoso.dev');
  const grace = await signInAndCallApi(stack, 'grace@contoso.dev');
  // Two sign-ins waiting at the provider: their codes are redeemed after the rotation.
  const pending = [new CookieJar(), new CookieJar()];
  const answers = await Promise.all(pending.map((jar) => signInAtProvider(stack.appUrl, jar)));
  await expireAccessTokens(stack, 'ada@contoso.dev');
  await expireAccessTokens(stack, 'grace@contoso.dev');
  const before = await counters();

  rotateSecret();
  const results = await Promise.all([
    proxyCall(stack.appUrl, ada, 'demo/profile'),
    proxyCall(stack.appUrl, grace, 'demo/profile'),
    postBack(answers[0]!, pending[0]!),
    postBack(answers[1]!, pending[1]!),
  ]);
  expect(results.map((r) => r.status)).toEqual([200, 200, 302, 302]);
  // Four successes at the token endpoint and one to four refusals (how many of the four reach the
  // provider before the reload is a race), which all led to a single reload.
  const after = await counters();
  expect(after.tokenRequests - before.tokenRequests).toBeGreaterThanOrEqual(5);
  expect(after.tokenRequests - before.tokenRequests).toBeLessThanOrEqual(8);
  expect(after.vaultReads - before.vaultReads).toBe(1);
  expect(after.loads - before.loads).toBe(1);
});

test('Key Vault calls per 1,000 proxied requests: 0 after the first load', async () => {
  const jar = await signInAndCallApi(stack);
  const runtime = await stack.runtime.get();
  vault.stats.reset();
  const appReads = runtime.keyVault.reads;
  const tokenRequests = stack.idp!.stats.requests.token;

  const total = 1000;
  const concurrency = 10;
  const statuses = new Map<number, number>();
  for (let sent = 0; sent < total; sent += concurrency) {
    const batch = await Promise.all(Array.from({ length: concurrency }, () => proxyCall(stack.appUrl, jar, 'demo/profile')));
    for (const answer of batch) {
      statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
      await answer.arrayBuffer();
    }
  }
  expect(Object.fromEntries(statuses)).toEqual({ 200: total });
  const keyVaultCalls = vault.stats.requests;
  console.log(`Key Vault calls for ${total} proxied requests after the first load: ${keyVaultCalls} (app-side reads: ${runtime.keyVault.reads - appReads})`);
  expect(keyVaultCalls).toBe(0);
  expect(runtime.keyVault.reads - appReads).toBe(0);
  expect(stack.idp!.stats.requests.token - tokenRequests).toBe(0);
}, 120_000);

test('the vault goes down during requests: cached calls go on, a needed reload is a 503, then it recovers', async () => {
  const jar = await signInAndCallApi(stack);
  await vault.stop();
  try {
    // The credential is in memory: the proxy does not need the vault.
    for (let i = 0; i < 5; i++) expect((await proxyCall(stack.appUrl, jar, 'demo/profile')).status).toBe(200);

    const secret = rotateSecret();
    await expireAccessTokens(stack);
    const answer = await proxyCall(stack.appUrl, jar, 'demo/profile');
    expect(answer.status).toBe(503);
    expect(answer.headers.get('content-type')).toBe('application/problem+json');
    const text = await answer.text();
    const body = JSON.parse(text) as { detail: string };
    expect(body).toMatchObject({ code: 'client_credential_unavailable', sources: [{ setting: 'AzureAd__ClientCredentials__0', code: 'key_vault_unreachable' }] });
    expect(body.detail).toContain(`AzureAd__ClientCredentials__0__KeyVaultSecretName: ${vault.url}/secrets/${SECRET_NAME}: Key Vault could not be reached`);
    expect(text).not.toContain(secret);
  } finally {
    await vault.start();
  }
  expect((await proxyCall(stack.appUrl, jar, 'demo/profile')).status).toBe(200);
});

test('the vault is down at start: the log and a 503 name the setting and the vault object; the first request after it returns works', async () => {
  await vault.stop();
  const startLogs: string[] = [];
  const second = await startLocalStack({
    settings: { TokenCache__ConnectionString: azurite.connectionString, ...keyVaultSecretSettings(vault, SECRET_NAME) },
    port: 0,
    log: () => {},
    idp: { client: { clientSecret: 'not-the-vault-value' } },
    runtime: vaultRuntimeOptions((line) => startLogs.push(line)),
  });
  try {
    const where = `AzureAd__ClientCredentials__0__KeyVaultSecretName: ${vault.url}/secrets/${SECRET_NAME}`;
    const login = await send(`${second.appUrl}/api/login`, undefined);
    expect(login.status).toBe(503);
    const body = (await login.json()) as { detail: string };
    expect(body).toMatchObject({ code: 'client_credential_unavailable', sources: [{ code: 'key_vault_unreachable' }] });
    expect(body.detail).toContain(where);
    expect(startLogs.some((l) => l.startsWith('client credential source 0 (KeyVault) failed') && l.includes(where))).toBe(true);

    await vault.start();
    second.idp!.controls.clientSecret(second.devClient!.clientId, (await currentVaultSecret())!);
    await signInAndCallApi(second);
  } finally {
    await vault.start();
    await second.close();
  }
});

test('session keys from a vault that is down: 503 naming Session__KeyVaultSecretName under the Functions host, then it recovers', async () => {
  vault.setSecret('session-keys', newSessionKeys());
  await vault.stop();
  const settings = { ...stack.settings, Session__Keys: undefined, Session__KeyVaultUrl: vault.url, Session__KeyVaultSecretName: 'session-keys' };
  // The local stack refuses to start without its session keys (npm start prints why and exits):
  await expect(startLocalStack({ settings, port: 0, log: () => {}, runtime: vaultRuntimeOptions(() => {}) })).rejects.toMatchObject({
    code: 'key_vault_unreachable',
    detail: expect.stringContaining(`Session__KeyVaultSecretName: ${vault.url}/secrets/session-keys`),
  });

  // Under the Functions host the runtime is built by the first request: 503, and the next request tries again.
  // A second app in the same process: its own runtime, the stack's is left alone.
  const runtime = runtimeSource(settings, vaultRuntimeOptions(() => {}));
  const port = await findFreePort();
  const host = await startLocalFunctionsHost({ functions: createHttpFunctions(runtime), port, hostname: '127.0.0.1', log: () => {} });
  try {
    const down = await send(`http://127.0.0.1:${port}/api/health`, undefined);
    expect(down.status).toBe(503);
    expect(await down.json()).toMatchObject({ code: 'key_vault_unreachable', detail: expect.stringContaining('Session__KeyVaultSecretName') });
    await vault.start();
    expect((await send(`http://127.0.0.1:${port}/api/health`, undefined)).status).toBe(200);
  } finally {
    await vault.start();
    await host.close();
  }
});

/** The value the vault now holds for the client secret, read as the app would (outside the app). */
async function currentVaultSecret(): Promise<string | undefined> {
  const answer = await fetch(`${vault.url}/secrets/${SECRET_NAME}?api-version=7.6`, { headers: { authorization: `Bearer ${VAULT_TOKEN}` } });
  return ((await answer.json()) as { value?: string }).value;
}
