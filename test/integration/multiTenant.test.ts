import { startLocalStack, type LocalStack } from '../../dev/stack';
import { DEV_TENANT_ID, FABRIKAM_TENANT_ID, GUEST_USER, MULTI_TENANT_USERS } from '../../dev/idp';
import { partitionKeyFor } from '../../shared/tokenCache/tableStore';
import { CookieJar, postBack, proxyCall, send, signIn, signInAtProvider } from '../support/browserless';
import { cacheTable } from '../support/cacheRows';

/**
 * Multi-tenant sign-in against the provider's Entra-shaped `organizations` authority: the
 * discovery document's issuer holds `{tenantid}`, each user's tokens carry their own tenant's
 * issuer, `AzureAd__AllowedTenants` limits who gets in, and a guest (home tenant ≠ the tenant
 * signed in to) gets a session whose tokens the proxy finds again.
 */
let stack: LocalStack;

beforeAll(async () => {
  stack = await startLocalStack({
    settings: { AzureAd__AllowedTenants: `${DEV_TENANT_ID}, 00000000-0000-0000-0000-000000000001` },
    port: 0,
    log: () => {},
    idp: { authority: 'organizations', users: [...MULTI_TENANT_USERS] },
  });
  await cacheTable(stack).createTable();
});
afterAll(async () => {
  await stack?.close();
});

async function rowExists(homeAccountId: string): Promise<boolean> {
  try {
    await cacheTable(stack).getEntity(partitionKeyFor(homeAccountId), 'msal');
    return true;
  } catch {
    return false;
  }
}

test('the authority is organizations and its issuer is a template filled with the token\'s tid', async () => {
  const runtime = await stack.runtime.get();
  expect(runtime.config.authority).toMatchObject({ kind: 'entra', tenantId: 'organizations' });
  const provider = await runtime.providers.get();
  expect(provider.metadata.issuer).toBe(`${stack.idp!.issuer}/{tenantid}/v2.0`);

  const jar = new CookieJar();
  await signIn(stack.appUrl, jar);
  const me = (await (await send(`${stack.appUrl}/api/me`, jar)).json()) as { claims: Record<string, unknown> };
  expect(me.claims).toMatchObject({ tid: DEV_TENANT_ID, iss: `${stack.idp!.issuer}/${DEV_TENANT_ID}/v2.0` });
  // The demo API checks issuer (per tenant), audience and scope of what it receives.
  expect((await proxyCall(stack.appUrl, jar, 'demo/profile')).status).toBe(200);
});

test('an ID token whose issuer is another tenant than its tid is refused', async () => {
  const jar = new CookieJar();
  stack.idp!.controls.nextIdToken({ issuer: `${stack.idp!.issuer}/${FABRIKAM_TENANT_ID}/v2.0` });
  const back = await postBack(await signInAtProvider(stack.appUrl, jar, { username: 'grace@contoso.dev' }), jar);
  expect(back.status).toBe(401);
  expect(await back.json()).toMatchObject({ code: 'id_token_invalid' });
  expect(jar.get('__Host-th.session')).toBeUndefined();
});

test('a user of a tenant not in AzureAd__AllowedTenants gets 403 (a page in a browser), no session and no row', async () => {
  const jar = new CookieJar();
  const answer = await signInAtProvider(stack.appUrl, jar, { username: 'bob@fabrikam.dev' });
  const page = await postBack(answer, jar, 'text/html');
  expect(page.status).toBe(403);
  expect(page.headers.get('content-type')).toMatch(/^text\/html/);
  expect(await page.text()).toMatch(/Your organization cannot use this app[\s\S]*tenant_not_allowed/);
  expect(jar.get('__Host-th.session')).toBeUndefined();
  expect(await rowExists(`9a1b2c3d-4e5f-4a6b-8c7d-0e1f2a3b4c5d.${FABRIKAM_TENANT_ID}`)).toBe(false);

  const apiJar = new CookieJar();
  const api = await postBack(await signInAtProvider(stack.appUrl, apiJar, { username: 'bob@fabrikam.dev' }), apiJar);
  expect(api.status).toBe(403);
  expect(await api.json()).toMatchObject({ code: 'tenant_not_allowed', status: 403 });
});

test('a guest signs in to the host tenant: home account from client_info, tokens found again by the proxy', async () => {
  const jar = new CookieJar();
  await signIn(stack.appUrl, jar, { username: GUEST_USER.username });
  const me = (await (await send(`${stack.appUrl}/api/me`, jar)).json()) as { claims: Record<string, unknown> };
  // The ID token speaks for the host tenant (Contoso) and the guest object there.
  expect(me.claims).toMatchObject({ tid: DEV_TENANT_ID, oid: GUEST_USER.oid });
  // The cache row is the home account's (uid.utid of the home tenant), as MSAL keys it.
  expect(await rowExists(`${GUEST_USER.home!.oid}.${GUEST_USER.home!.tid}`)).toBe(true);
  const first = await proxyCall(stack.appUrl, jar, 'demo/profile');
  expect(first.status).toBe(200);
  expect(await first.json()).toMatchObject({ user: { name: 'Eve Guest', oid: GUEST_USER.oid } });
  // And again from the cache, without the provider.
  const tokenCalls = stack.idp!.stats.requests.token;
  expect((await proxyCall(stack.appUrl, jar, 'demo/profile')).status).toBe(200);
  expect(stack.idp!.stats.requests.token).toBe(tokenCalls);
});
