import { HttpRequest, InvocationContext } from '@azure/functions';
import { randomBytes } from 'node:crypto';
import { createHttpFunctions } from '../../functions/app';
import { runtimeSource } from '../../shared/runtime';
import type { Settings } from '../../shared/config';

/** Settings that build a runtime without touching the network. */
function settings(apis: string[]): Settings {
  const base: Record<string, string> = {
    AzureAd__Authority: 'https://idp.example.test/',
    AzureAd__ClientId: 'client',
    AzureAd__ClientCredentials__0__SourceType: 'ClientSecret',
    AzureAd__ClientCredentials__0__ClientSecret: 'not-a-real-secret',
    AzureAd__RedirectUri: 'http://localhost:7071/api/redirect',
    TokenCache__ConnectionString: 'UseDevelopmentStorage=true',
    Session__Keys: randomBytes(32).toString('base64url'),
  };
  for (const api of apis) {
    base[`DownstreamApis__${api}__BaseUrl`] = `https://${api}.example.test/`;
    base[`DownstreamApis__${api}__Scopes`] = `api://${api}/.default`;
  }
  return base;
}

/** A proxied call without a session: the runtime is built, the API looked up, and no network is used. */
async function proxyCall(functions: ReturnType<typeof createHttpFunctions>, api: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const fn = functions.find((f) => f.name === 'proxy')!;
  const context = new InvocationContext({ functionName: 'proxy', logHandler: () => {} });
  const request = new HttpRequest({ url: `http://localhost/api/proxy/${api}/x`, method: 'GET', headers: { 'x-csrf': '1' }, params: { api, path: 'x' } });
  const init = (await fn.options.handler(request, context)) as { status: number; body: string };
  return { status: init.status, body: JSON.parse(init.body) };
}

test('two apps in one process are two runtimes: each answers with its own settings, no global to rebind', async () => {
  const first = createHttpFunctions(runtimeSource(settings(['alpha']), { log: () => {} }));
  const second = createHttpFunctions(runtimeSource(settings(['beta', 'gamma']), { log: () => {} }));
  // alpha is the first app's API (a known API without a session: 401), unknown to the second (404).
  expect(await proxyCall(first, 'alpha')).toMatchObject({ status: 401, body: { code: 'not_signed_in' } });
  expect(await proxyCall(second, 'alpha')).toMatchObject({ status: 404, body: { code: 'api_unknown' } });
  expect(await proxyCall(second, 'gamma')).toMatchObject({ status: 401 });
  // Building the second did not change the first.
  expect(await proxyCall(first, 'alpha')).toMatchObject({ status: 401 });
  expect(await proxyCall(first, 'gamma')).toMatchObject({ status: 404 });
});

test('a runtime keeps its configuration error (503 naming the setting) without touching another', async () => {
  const broken = createHttpFunctions(runtimeSource({ ...settings([]), AzureAd__ClientId: '' }, { log: () => {} }));
  const fine = createHttpFunctions(runtimeSource(settings(['alpha']), { log: () => {} }));
  expect(await proxyCall(broken, 'alpha')).toMatchObject({ status: 503, body: { code: 'configuration_invalid', settings: expect.arrayContaining(['AzureAd__ClientId']) } });
  expect(await proxyCall(fine, 'alpha')).toMatchObject({ status: 401 });
});

test('the runtime is built once per source, at first use', async () => {
  let reads = 0;
  const source = runtimeSource(() => {
    reads++;
    return settings(['alpha']);
  }, { log: () => {} });
  expect(reads).toBe(0);
  const functions = createHttpFunctions(source);
  await proxyCall(functions, 'alpha');
  await proxyCall(functions, 'alpha');
  expect(reads).toBe(1);
  expect(await source.get()).toBe(await source.get());
});
