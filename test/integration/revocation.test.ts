import { startLocalStack, type LocalStack } from '../../dev/stack';
import { CookieJar, proxyCall, send, signIn } from '../support/browserless';
import { cacheTable, readCacheRow } from '../support/cacheRows';
import { startTwoInstances, type SecondInstance } from '../support/secondInstance';

/**
 * RFC 7009 at sign-out, across two app instances: the refresh token is revoked at the provider
 * that advertises a revocation endpoint, and a provider without one (as Entra) is skipped
 * silently, without the extra read.
 */
async function refreshWith(stack: LocalStack, refreshToken: string): Promise<{ status: number; error?: string }> {
  const response = await fetch(`${stack.idp!.issuer}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken, client_id: stack.devClient!.clientId, client_secret: stack.devClient!.clientSecret }).toString(),
  });
  const body = (await response.json()) as { error?: string };
  return { status: response.status, error: body.error };
}

describe('a provider with a revocation endpoint', () => {
  let a: LocalStack;
  let b: SecondInstance;
  let closeBoth: () => Promise<void>;
  beforeAll(async () => {
    ({ first: a, second: b, close: closeBoth } = await startTwoInstances());
  });
  afterAll(() => closeBoth?.());

  test('sign-out on one instance revokes the refresh token at the provider; the other instance refuses the old cookie', async () => {
    const jar = new CookieJar();
    await signIn(a.appUrl, jar);
    expect((await proxyCall(b.appUrl, jar, 'demo/profile')).status).toBe(200);
    const refreshToken = Object.values((await readCacheRow(a))!.cache['RefreshToken']!)[0]!['secret']!;
    expect((await refreshWith(a, refreshToken)).status).toBe(200);

    const copy = jar.clone();
    const revokes = a.idp!.stats.requests.revoke;
    const out = await send(`${a.appUrl}/api/logout`, jar, { method: 'POST', headers: { 'x-csrf': '1' } });
    expect(out.status).toBe(302);
    expect(a.idp!.stats.requests.revoke - revokes).toBe(1);
    expect(await refreshWith(a, refreshToken)).toMatchObject({ status: 400, error: 'invalid_grant' });

    expect((await proxyCall(b.appUrl, copy, 'demo/profile')).status).toBe(401);
    expect((await send(`${b.appUrl}/api/me`, copy)).status).toBe(401);
  });
});

describe('a provider without one (as Entra)', () => {
  let stack: LocalStack;
  beforeAll(async () => {
    stack = await startLocalStack({ settings: {}, port: 0, log: () => {}, idp: { revocation: false } });
    await cacheTable(stack).createTable();
  });
  afterAll(async () => {
    await stack?.close();
  });

  test('sign-out skips revocation silently: no call, no extra read, the same redirect', async () => {
    const jar = new CookieJar();
    await signIn(stack.appUrl, jar);
    const runtime = await stack.runtime.get();
    const before = { ...runtime.tableCalls };
    const out = await send(`${stack.appUrl}/api/logout`, jar, { method: 'POST', headers: { 'x-csrf': '1' } });
    expect(out.status).toBe(302);
    expect(new URL(out.headers.get('location')!).origin).toBe(stack.idp!.browserOrigin);
    expect(stack.idp!.stats.requests.revoke).toBe(0);
    expect(runtime.tableCalls.reads - before.reads).toBe(0);
    expect(runtime.tableCalls.deletes - before.deletes).toBe(1);
  });
});
