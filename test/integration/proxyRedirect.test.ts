import { createServer, type Server } from 'node:http';
import { startLocalStack, DEMO_API_SCOPE, type LocalStack } from '../../dev/stack';
import { listenOnLoopback } from '../../dev/listen';
import { CookieJar, proxyCall, signIn } from '../support/browserless';

/**
 * The proxy never follows an API's redirect: the bearer token must not travel to a host the
 * API points at. An API on loopback answers 302 to another loopback server that records every
 * request it gets (and whether it carried an Authorization header); the browser gets the 302
 * and the other server hears nothing. Following redirects (`redirect: 'follow'`) fails this.
 */
interface Heard {
  readonly path: string;
  readonly authorization: boolean;
}

function recordingServer(answer: (path: string, res: import('node:http').ServerResponse) => void): { server: Server; heard: Heard[] } {
  const heard: Heard[] = [];
  const server = createServer((req, res) => {
    heard.push({ path: req.url ?? '/', authorization: req.headers.authorization !== undefined });
    req.resume();
    answer(req.url ?? '/', res);
  });
  return { server, heard };
}

let stack: LocalStack;
let elsewhere: ReturnType<typeof recordingServer>;
let api: ReturnType<typeof recordingServer>;
let jar: CookieJar;

beforeAll(async () => {
  elsewhere = recordingServer((_, res) => res.writeHead(200, { 'content-type': 'text/plain' }).end('elsewhere'));
  const elsewherePort = await listenOnLoopback(elsewhere.server);
  api = recordingServer((path, res) => {
    // Another host (by name and port), and a path on the API's own origin.
    const location = path === '/same-origin' ? '/landing' : `http://localhost:${elsewherePort}/landing`;
    if (path === '/landing') res.writeHead(200, { 'content-type': 'text/plain' }).end('landing');
    else res.writeHead(302, { location }).end();
  });
  const apiPort = await listenOnLoopback(api.server);
  stack = await startLocalStack({
    port: 0,
    log: () => {},
    settings: { DownstreamApis__hop__BaseUrl: `http://127.0.0.1:${apiPort}/`, DownstreamApis__hop__Scopes: DEMO_API_SCOPE },
  });
  jar = new CookieJar();
  await signIn(stack.appUrl, jar);
});
afterAll(async () => {
  await stack?.close();
  for (const { server } of [api, elsewhere]) {
    if (!server) continue;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});

test('a 302 to another host reaches the browser as it is; the other host hears nothing', async () => {
  const answer = await proxyCall(stack.appUrl, jar, 'hop/away');
  expect(answer.status).toBe(302);
  await answer.arrayBuffer();
  expect(api.heard).toEqual([{ path: '/away', authorization: true }]);
  expect(elsewhere.heard).toEqual([]);
});

test('a 302 on the API\'s own origin is not followed either', async () => {
  api.heard.length = 0;
  const answer = await proxyCall(stack.appUrl, jar, 'hop/same-origin');
  expect(answer.status).toBe(302);
  await answer.arrayBuffer();
  expect(api.heard).toEqual([{ path: '/same-origin', authorization: true }]);
});
