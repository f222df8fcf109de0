import { startLocalStack, type LocalStack } from '../../dev/stack';
import { DEV_TENANT_ID } from '../../dev/idp';
import { DEV_B2C, acceptedIssuers } from '../../dev/authorityShapes';
import { startDemoApi, type DemoApi } from '../../dev/demoApi';
import { createDevCertificates, trustCertificateAuthority } from '../../dev/tls';
import { CookieJar, proxyCall, signIn } from '../support/browserless';
import { cacheTable } from '../support/cacheRows';

/**
 * A B2C-protected web API as Azure AD B2C's documentation sets it up: scopes `demo.read` and
 * `demo.write` published under the API's App ID URI (`https://<tenant>.onmicrosoft.com/<api>/…`),
 * access tokens whose `aud` is the API's application id and whose `scp` holds the short names.
 * The API checks both: `demo.read` for every call, `demo.write` for calls that change something.
 */
const API_URI = `https://${DEV_B2C.domain}/demo-api`;
const API_APP_ID = '3f1b8a52-6c0d-4e7f-9a1b-2c3d4e5f6a7b';
const READ = `${API_URI}/demo.read`;
const WRITE = `${API_URI}/demo.write`;

let stack: LocalStack;
let api: DemoApi;

beforeAll(async () => {
  stack = await startLocalStack({
    settings: {},
    port: 0,
    log: () => {},
    idp: { authority: 'b2c', extraApis: [{ audience: API_URI, scopes: [READ, WRITE], tokenAudience: API_APP_ID }] },
  });
  await cacheTable(stack).createTable();
  const tls = createDevCertificates();
  trustCertificateAuthority(tls.caCertPem);
  api = await startDemoApi({ tls, issuer: stack.idp!.issuer, issuers: acceptedIssuers(stack.idp!.issuer), audience: API_APP_ID, requiredScope: 'demo.read', writeScope: 'demo.write' });
});
afterAll(async () => {
  await api?.close();
  await stack?.close();
});

/** The app configured with the B2C API, asking for `scopes`. */
function configureApi(scopes: string[]): void {
  stack.restartRuntime({ ...stack.settings, DownstreamApis__b2capi__BaseUrl: api.url, DownstreamApis__b2capi__Scopes: scopes.join(' ') });
}

test('demo.read and demo.write: the API gets a B2C token (its app id as aud, issued by the B2C issuer) with both scopes; reads and writes work', async () => {
  configureApi([READ, WRITE]);
  const jar = new CookieJar();
  await signIn(stack.appUrl, jar);
  const read = await proxyCall(stack.appUrl, jar, 'b2capi/profile');
  expect(read.status).toBe(200);
  expect(await read.json()).toMatchObject({ user: { name: 'Ada Lovelace', tid: DEV_TENANT_ID }, scopes: ['demo.read', 'demo.write'], audience: API_APP_ID, azp: stack.devClient!.clientId });
  const write = await proxyCall(stack.appUrl, jar, 'b2capi/echo/items', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"title":"new"}' });
  expect(write.status).toBe(200);
  expect(await write.json()).toMatchObject({ method: 'POST', path: '/echo/items', body: '{"title":"new"}' });
});

test('demo.read only: reads work, a write is refused by the API (403 insufficient_scope, passed through), and no token is refreshed for it', async () => {
  configureApi([READ]);
  const jar = new CookieJar();
  await signIn(stack.appUrl, jar, { username: 'grace@contoso.dev' });
  const read = await proxyCall(stack.appUrl, jar, 'b2capi/profile');
  expect(read.status).toBe(200);
  expect(await read.json()).toMatchObject({ scopes: ['demo.read'], audience: API_APP_ID });
  const refreshes = stack.idp!.stats.grants.refresh_token;
  const write = await proxyCall(stack.appUrl, jar, 'b2capi/echo/items', { method: 'POST', body: 'x' });
  expect(write.status).toBe(403);
  expect(write.headers.get('www-authenticate')).toContain('error="insufficient_scope", scope="demo.write"');
  expect(stack.idp!.stats.grants.refresh_token).toBe(refreshes);
});
