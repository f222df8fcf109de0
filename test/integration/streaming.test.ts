import { startLocalStack, type LocalStack } from '../../dev/stack';
import { APP_SETUP, createHttpFunctions, createTimerFunctions } from '../../functions/app';
import { CookieJar, proxyCall, signIn } from '../support/browserless';

/**
 * The local stack streams exactly when the app's own setup does (functions/app.ts APP_SETUP,
 * passed to app.setup under the Functions host): a proxied answer's first chunk reaches the
 * browser while the API is still writing. Turn enableHttpStream off and this fails, as the
 * deployed app would then buffer too.
 */
let stack: LocalStack;
let jar: CookieJar;

beforeAll(async () => {
  stack = await startLocalStack({ settings: {}, port: 0, log: () => {} });
  jar = new CookieJar();
  await signIn(stack.appUrl, jar);
});
afterAll(async () => {
  await stack?.close();
});

test('a proxied answer streams: its first chunk arrives before the API finishes', async () => {
  const answer = await proxyCall(stack.appUrl, jar, 'demo/stream');
  expect(answer.status).toBe(200);
  const reader = answer.body!.getReader();
  const decoder = new TextDecoder();
  expect(decoder.decode((await reader.read()).value)).toBe('first\n');
  // Only now is the API told to finish: a buffered host would have held 'first' until the API's own bound ran out.
  expect(await (await proxyCall(stack.appUrl, jar, 'demo/stream/release', { method: 'POST' })).json()).toEqual({ released: 1 });
  let rest = '';
  for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) rest += decoder.decode(chunk.value);
  expect(rest).toBe('released-by:client\n');
});

test('functions/index.ts gives the Functions host the same setup and the same functions', () => {
  const setup = jest.fn();
  const http = jest.fn();
  const timer = jest.fn();
  jest.isolateModules(() => {
    jest.doMock('@azure/functions', () => ({ ...jest.requireActual('@azure/functions'), app: { setup, http, timer } }));
    require('../../functions/index');
  });
  jest.dontMock('@azure/functions');
  expect(setup).toHaveBeenCalledWith(APP_SETUP);
  const expected = createHttpFunctions({ get: () => Promise.reject(new Error('unused')) });
  expect(http.mock.calls.map(([name, options]) => [name, options.route, options.methods])).toEqual(expected.map((fn) => [fn.name, fn.options.route, fn.options.methods]));
  const timers = createTimerFunctions({ get: () => Promise.reject(new Error('unused')) });
  expect(timer.mock.calls.map(([name, options]) => [name, options.schedule])).toEqual(timers.map((t) => [t.name, t.schedule]));
});
