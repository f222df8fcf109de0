import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { forwardToApi } from '../../shared/proxy/forward';
import { ProblemError } from '../../shared/problems';
import { runWithDeadline } from '../../shared/deadline';

/**
 * Forwarding one call to a downstream API: a real HTTP server on loopback (no fetch stand-in),
 * which records what reached it and answers as each test asks.
 */
interface Seen {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingMessage['headers'];
  readonly body: string;
}

let server: Server;
let base: string;
const seen: Seen[] = [];
let answer: (req: IncomingMessage, res: import('node:http').ServerResponse) => void;

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen.push({ method: req.method!, url: req.url!, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      answer(req, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});
beforeEach(() => {
  seen.length = 0;
  answer = (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json', 'set-cookie': 'api=1', etag: '"v1"' });
    res.end('{"ok":true}');
  };
});

const body = new TextEncoder().encode('{"name":"x"}');

test('sends the bearer token and the allowed headers, and streams the answer back with the allowed headers', async () => {
  const incoming = new Headers({ accept: 'application/json', cookie: 'session=secret', 'content-type': 'application/json' });
  const proxied = await forwardToApi(new URL(`${base}/v1/items?a=1`), 'POST', incoming, body, 'tok-1', 5_000);
  expect(proxied.status).toBe(200);
  expect(proxied.headers).toEqual({ 'content-type': 'application/json', etag: '"v1"' });
  expect(await new Response(proxied.body).text()).toBe('{"ok":true}');
  expect(seen).toHaveLength(1);
  expect(seen[0]).toMatchObject({ method: 'POST', url: '/v1/items?a=1', body: '{"name":"x"}' });
  expect(seen[0]!.headers['authorization']).toBe('Bearer tok-1');
  expect(seen[0]!.headers['accept']).toBe('application/json');
  expect(seen[0]!.headers['cookie']).toBeUndefined();
});

test.each(['GET', 'HEAD', 'OPTIONS'])('a %s is sent without a body even when one was read', async (method) => {
  const proxied = await forwardToApi(new URL(`${base}/x`), method, new Headers(), body, 'tok', 5_000);
  await proxied.body?.cancel();
  expect(seen[0]!.method).toBe(method);
  expect(seen[0]!.body).toBe('');
  expect(seen[0]!.headers['content-length'] ?? '0').toBe('0');
});

test('a PUT without a body read sends none', async () => {
  const proxied = await forwardToApi(new URL(`${base}/x`), 'PUT', new Headers(), null, 'tok', 5_000);
  await proxied.body?.cancel();
  expect(seen[0]).toMatchObject({ method: 'PUT', body: '' });
});

test('a HEAD answer has no body; a GET answer keeps it', async () => {
  const head = await forwardToApi(new URL(`${base}/x`), 'HEAD', new Headers(), null, 'tok', 5_000);
  expect(head.body).toBeNull();
  const get = await forwardToApi(new URL(`${base}/x`), 'GET', new Headers(), null, 'tok', 5_000);
  expect(get.body).not.toBeNull();
  expect(await new Response(get.body).text()).toBe('{"ok":true}');
});

test('a redirect is handed back, never followed with the token', async () => {
  answer = (req, res) => {
    if (req.url === '/moved') {
      res.writeHead(302, { location: '/elsewhere' });
      res.end();
    } else {
      res.writeHead(200);
      res.end('followed');
    }
  };
  const proxied = await forwardToApi(new URL(`${base}/moved`), 'GET', new Headers(), null, 'tok', 5_000);
  await proxied.body?.cancel();
  expect(proxied.status).toBe(302);
  expect(seen.map((s) => s.url)).toEqual(['/moved']);
});

test('an API that cannot be reached is 502 api_unavailable', async () => {
  const closed = createServer();
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
  const port = (closed.address() as AddressInfo).port;
  await new Promise((resolve) => closed.close(resolve));
  const failure = await forwardToApi(new URL(`http://127.0.0.1:${port}/x`), 'GET', new Headers(), null, 'tok', 5_000).catch((e: unknown) => e);
  expect(failure).toBeInstanceOf(ProblemError);
  expect(failure).toMatchObject({ status: 502, code: 'api_unavailable' });
});

test('an API that does not answer in time is 504 api_timeout, or the request deadline when that comes first', async () => {
  answer = () => {}; // never answers
  const own = await forwardToApi(new URL(`${base}/slow`), 'GET', new Headers(), null, 'tok', 50).catch((e: unknown) => e);
  expect(own).toMatchObject({ status: 504, code: 'api_timeout' });
  const deadline = await runWithDeadline(50, () => forwardToApi(new URL(`${base}/slow`), 'GET', new Headers(), null, 'tok', 5_000)).catch((e: unknown) => e);
  expect(deadline).toMatchObject({ status: 503, code: 'request_deadline_exceeded' });
  server.closeAllConnections();
});
