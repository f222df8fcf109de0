import { HttpRequest, InvocationContext } from '@azure/functions';
import { randomBytes } from 'node:crypto';
import { createHttpFunctions, createTimerFunctions } from '../../functions/app';
import { lazyFunctions, loadHandlers } from '../../functions/lazy';
import { HTTP_ROUTES } from '../../functions/manifest';
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

describe('registered up front, code at the first call (functions/index.ts)', () => {
  const unused = { get: () => Promise.reject(new Error('unused')) };

  test('every function of the app is in the manifest with the same name, route, methods and auth level, in the same order', () => {
    const lazy = lazyFunctions(() => loadHandlers().startHandlers(settings([])));
    const shape = (fn: { name: string; options: { route?: string; methods?: unknown; authLevel?: unknown } }) => [fn.name, fn.options.route, fn.options.methods, fn.options.authLevel];
    expect(lazy.http.map(shape)).toEqual(createHttpFunctions(unused).map(shape));
    expect(lazy.http.map((fn) => fn.name)).toEqual(HTTP_ROUTES.map((r) => r.name));
    expect(lazy.timers.map((t) => [t.name, t.schedule])).toEqual(createTimerFunctions(unused).map((t) => [t.name, t.schedule]));
  });

  test('the handlers start once, at the first call to any function, and answer as the eager ones', async () => {
    let starts = 0;
    const lazy = lazyFunctions(() => {
      starts++;
      return loadHandlers().startHandlers(settings(['alpha']), { log: () => {} });
    });
    expect(starts).toBe(0);
    expect(await proxyCall(lazy.http, 'alpha')).toMatchObject({ status: 401, body: { code: 'not_signed_in' } });
    expect(await proxyCall(lazy.http, 'beta')).toMatchObject({ status: 404, body: { code: 'api_unknown' } });
    const health = lazy.http.find((f) => f.name === 'health')!;
    await health.options.handler(new HttpRequest({ url: 'http://localhost/api/health', method: 'GET' }), new InvocationContext({ functionName: 'health', logHandler: () => {} }));
    expect(starts).toBe(1);
  });

  test('a bad setting is answered at the first call: 503 problem+json naming it, by every function', async () => {
    const lazy = lazyFunctions(() => loadHandlers().startHandlers({ ...settings(['alpha']), Session__Keys: 'short' }, { log: () => {} }));
    expect(await proxyCall(lazy.http, 'alpha')).toMatchObject({ status: 503, body: { code: 'configuration_invalid', settings: ['Session__Keys'] } });
    const health = lazy.http.find((f) => f.name === 'health')!;
    const answer = (await health.options.handler(new HttpRequest({ url: 'http://localhost/api/health', method: 'GET' }), new InvocationContext({ functionName: 'health', logHandler: () => {} }))) as { status: number; headers: Record<string, string>; body: string };
    expect(answer.status).toBe(503);
    expect(JSON.parse(answer.body)).toMatchObject({ code: 'configuration_invalid', settings: ['Session__Keys'] });
  });

  test('a function the code does not provide fails its first call, naming it', async () => {
    const lazy = lazyFunctions(() => {
      const handlers = loadHandlers().startHandlers(settings([]));
      const http = new Map(handlers.http);
      http.delete('health');
      return { ...handlers, http };
    });
    await expect(proxyCall(lazy.http, 'alpha')).rejects.toThrow('no handler for health');
  });
});
