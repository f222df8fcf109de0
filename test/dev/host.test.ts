import { HttpResponse, type Cookie, type HttpHandler, type HttpRequest, type InvocationContext } from '@azure/functions';
import { createRequire } from 'node:module';
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { once } from 'node:events';
import { startLocalFunctionsHost, type LocalFunctionsHost } from '../../dev/host';
import type { HttpFunctionRegistration } from '../../functions/registration';

const encoder = new TextEncoder();

interface Seen {
  params: Record<string, string>;
  invocationId: string;
}
const seenBy = async (res: Response): Promise<Seen> => (await res.json()) as Seen;

/** The `stream` function's next part waits until the test has read the previous one: a buffering host would never finish it. */
let nextPart: (() => void) | undefined;
function partRead(): void {
  const go = nextPart;
  nextPart = undefined;
  go?.();
}

/** Echoes what the handler saw, so tests can check the mapping from the wire. */
async function echo(request: HttpRequest, context: InvocationContext) {
  context.log('echo called');
  return {
    jsonBody: {
      method: request.method,
      url: request.url,
      params: request.params,
      query: [...request.query],
      cookie: request.headers.get('cookie'),
      accept: request.headers.get('accept'),
      functionName: context.functionName,
      invocationId: context.invocationId,
    },
  };
}

const COOKIES: Cookie[] = [
  { name: '__Host-session', value: 'abc.def', path: '/', secure: true, httpOnly: true, sameSite: 'Lax' },
  { name: '__Host-auth', value: '', path: '/', secure: true, httpOnly: true, sameSite: 'None', maxAge: 0, expires: new Date(0) },
  { name: 'plain', value: 'a b;c', domain: 'example.test' },
];

/** The worker's serializer: the `cookie` version @azure/functions itself depends on, called as its httpProxy.ts calls it. */
const workerCookie = createRequire(require.resolve('@azure/functions'))('cookie') as { serialize(name: string, value: string, options: object): string };
function workerSerialized(c: Cookie): string {
  const sameSite = c.sameSite === undefined ? undefined : c.sameSite.toLowerCase();
  return workerCookie.serialize(c.name, c.value, { domain: c.domain, path: c.path, expires: typeof c.expires === 'number' ? new Date(c.expires) : c.expires, secure: c.secure, httpOnly: c.httpOnly, sameSite, maxAge: c.maxAge });
}

const functions: HttpFunctionRegistration[] = [
  { name: 'echo', options: { route: 'echo/{a}/{b?}', methods: ['GET', 'POST'], handler: echo } },
  { name: 'proxy', options: { route: 'proxy/{api}/{*path}', methods: ['GET', 'POST', 'PUT', 'DELETE', 'PATCH'], handler: echo } },
  { name: 'item', options: { route: 'items/{id}', methods: ['GET'], handler: echo } },
  {
    name: 'headerCookies',
    options: {
      methods: ['GET'],
      handler: () => {
        const headers = new Headers();
        headers.append('set-cookie', 'first=1; Path=/');
        headers.append('set-cookie', 'second=2; Path=/');
        return { headers };
      },
    },
  },
  { name: 'me', options: { methods: ['GET', 'HEAD'], handler: () => ({ body: 'hello me', headers: { 'x-test': 'yes' } }) } },
  {
    name: 'cookies',
    options: {
      methods: ['GET'],
      handler: () => ({
        status: 302,
        headers: { location: '/done', 'set-cookie': 'legacy=1; Path=/' },
        cookies: COOKIES,
      }),
    },
  },
  {
    name: 'multi',
    options: {
      methods: ['GET'],
      handler: () => {
        const headers = new Headers({ 'content-type': 'text/plain' });
        headers.append('x-multi', 'a');
        headers.append('x-multi', 'b');
        headers.set('connection', 'close'); // hop-by-hop: never forwarded
        return new HttpResponse({ status: 201, headers, body: 'made' });
      },
    },
  },
  {
    name: 'stream',
    options: {
      methods: ['GET'],
      handler: () => ({
        headers: { 'content-type': 'text/plain' },
        body: new ReadableStream<Uint8Array>({
          async start(controller) {
            for (const part of ['one,', 'two,', 'three']) {
              controller.enqueue(encoder.encode(part));
              await new Promise<void>((resolve) => (nextPart = resolve));
            }
            controller.close();
          },
        }),
      }),
    },
  },
  {
    name: 'iterable',
    options: {
      methods: ['GET'],
      handler: () => ({
        body: (async function* () {
          yield encoder.encode('a');
          yield encoder.encode('b');
        })(),
      }),
    },
  },
  {
    name: 'endless',
    options: {
      methods: ['GET'],
      handler: () => {
        // One chunk, then nothing until the host gives up on the stream (the client left).
        let stop: (() => void) | undefined;
        return {
          body: new ReadableStream<Uint8Array>({
            start(controller) {
              controller.enqueue(encoder.encode('chunk 1\n'));
            },
            pull: () => new Promise<void>((resolve) => (stop = resolve)),
            cancel: () => stop?.(),
          }),
        };
      },
    },
  },
  { name: 'json', options: { methods: ['GET'], handler: () => ({ status: 202, jsonBody: { ok: true, n: 1 } }) } },
  {
    name: 'boom',
    options: {
      methods: ['GET'],
      handler: () => {
        throw new Error('database password is hunter2');
      },
    },
  },
  {
    name: 'upload',
    options: {
      methods: ['POST', 'PUT'],
      handler: async (request) => {
        const type = request.headers.get('content-type') ?? '';
        if (type.startsWith('application/json')) return { jsonBody: { json: await request.json() } };
        if (type.startsWith('application/x-www-form-urlencoded')) {
          const form = await request.formData();
          return { jsonBody: { form: Object.fromEntries([...form].map(([k, v]) => [k, String(v)])) } };
        }
        const bytes = await request.arrayBuffer();
        return { jsonBody: { bytes: bytes.byteLength } };
      },
    },
  },
  // The typings demand a response; at run time a handler may still return nothing.
  { name: 'nothing', options: { methods: ['GET'], handler: (() => undefined) as unknown as HttpHandler } },
];

let host: LocalFunctionsHost;
const lines: string[] = [];
const lineWaiters = new Set<(line: string) => void>();

/** The first log line from now on that matches: tests wait on the host's log, never on time. */
function nextLine(matches: (line: string) => boolean): Promise<string> {
  return new Promise((resolve) => {
    const waiter = (line: string): void => {
      if (!matches(line)) return;
      lineWaiters.delete(waiter);
      resolve(line);
    };
    lineWaiters.add(waiter);
  });
}

beforeAll(async () => {
  const log = (line: string): void => {
    lines.push(line);
    for (const waiter of [...lineWaiters]) waiter(line);
  };
  host = await startLocalFunctionsHost({ functions, port: 0, log, maxRequestBodyBytes: 1024 * 1024, enableHttpStream: true });
});
afterAll(async () => {
  await host.close();
});

/** A request with the path sent byte for byte (fetch would resolve `..` and `%2e%2e` first). */
function rawGet(path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port: host.port, path, method: 'GET', agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject).end();
  });
}

describe('local functions host', () => {
  test('listens on loopback and reports its url', () => {
    expect(host.url).toBe(`http://127.0.0.1:${host.port}`);
    expect(lines.some((l) => l.includes(`echo: [GET,POST] ${host.url}/api/echo/{a}/{b?}`))).toBe(true);
  });

  test('route parameters, query, headers and context reach the handler', async () => {
    const res = await fetch(`${host.url}/API/Echo/x%20y?q=1&q=2&r=%2F`, { headers: { cookie: 'a=1; b=2', accept: 'application/json' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json');
    const seen = await seenBy(res);
    expect(seen).toMatchObject({
      method: 'GET',
      url: `${host.url}/API/Echo/x%20y?q=1&q=2&r=%2F`,
      params: { a: 'x y' },
      query: [['q', '1'], ['q', '2'], ['r', '/']],
      cookie: 'a=1; b=2',
      accept: 'application/json',
      functionName: 'echo',
    });
    expect(seen.invocationId).toMatch(/^[0-9a-f-]{36}$/);
    expect(lines).toContain('[echo] information: echo called');
  });

  test('catch-all parameter: inner slashes, %2F kept encoded, empty means absent', async () => {
    const a = await seenBy(await fetch(`${host.url}/api/proxy/graph/v1.0/me/a%2Fb%3F`));
    expect(a.params).toEqual({ api: 'graph', path: 'v1.0/me/a%2Fb?' });
    const b = await seenBy(await fetch(`${host.url}/api/proxy/graph`));
    expect(b.params).toEqual({ api: 'graph' });
  });

  test('dot segments, plain or encoded, are resolved before routing, as Kestrel does', async () => {
    const encoded = await rawGet('/api/proxy/graph/a/%2e%2E/x%5Cy');
    expect(encoded.status).toBe(200);
    expect(JSON.parse(encoded.body)).toMatchObject({ params: { api: 'graph', path: 'x\\y' }, url: `${host.url}/api/proxy/graph/x%5Cy` });
    // `..` climbing out of the proxy route lands on another route, never above the root.
    const climbing = await rawGet('/api/proxy/graph/../../echo/./one/%2e%2e/two');
    expect(JSON.parse(climbing.body)).toMatchObject({ params: { a: 'two' }, functionName: 'echo' });
    expect((await rawGet('/../../../api/items/7')).status).toBe(200);
    // Not a dot segment: an encoded slash inside a segment, a double-encoded dot.
    expect(JSON.parse((await rawGet('/api/proxy/graph/a%2F..%2Fb')).body).params).toEqual({ api: 'graph', path: 'a%2F..%2Fb' });
    expect(JSON.parse((await rawGet('/api/proxy/graph/%252e%252e/b')).body).params).toEqual({ api: 'graph', path: '%2e%2e/b' });
  });

  test('unknown route and wrong method are 404', async () => {
    expect(await (await fetch(`${host.url}/api/items/12`)).json()).toMatchObject({ params: { id: '12' } });
    expect((await fetch(`${host.url}/api/items/12/more`)).status).toBe(404);
    expect((await fetch(`${host.url}/api/nope`)).status).toBe(404);
    expect((await fetch(`${host.url}/echo/x`)).status).toBe(404); // outside the route prefix
    expect((await fetch(`${host.url}/api/echo/x`, { method: 'DELETE' })).status).toBe(404);
  });

  test('cookies replace a header Set-Cookie, each serialized as the worker serializes it', async () => {
    const res = await fetch(`${host.url}/api/cookies`, { redirect: 'manual' });
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe('/done');
    expect(res.headers.getSetCookie()).toEqual([
      '__Host-session=abc.def; Path=/; HttpOnly; Secure; SameSite=Lax',
      '__Host-auth=; Max-Age=0; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; Secure; SameSite=None',
      'plain=a%20b%3Bc; Domain=example.test',
    ]);
    // Byte for byte what the worker's own serializer (the cookie package it depends on) writes.
    expect(res.headers.getSetCookie()).toEqual(COOKIES.map(workerSerialized));
  });

  test('without cookies, header Set-Cookies go through setHeader one by one: the last one stands', async () => {
    const res = await fetch(`${host.url}/api/headerCookies`);
    expect(res.headers.getSetCookie()).toEqual(['second=2; Path=/']);
  });

  test('HttpResponse instance: status, multi-valued headers, hop-by-hop dropped', async () => {
    const res = await fetch(`${host.url}/api/multi`);
    expect(res.status).toBe(201);
    expect(res.headers.get('x-multi')).toBe('a, b');
    expect(res.headers.get('connection')).not.toBe('close');
    expect(await res.text()).toBe('made');
  });

  test('jsonBody gets application/json and a length', async () => {
    const res = await fetch(`${host.url}/api/json`);
    expect(res.status).toBe(202);
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(res.headers.get('content-length')).toBe(String('{"ok":true,"n":1}'.length));
    expect(await res.json()).toEqual({ ok: true, n: 1 });
  });

  test('a ReadableStream body arrives chunk by chunk', async () => {
    const res = await fetch(`${host.url}/api/stream`);
    expect(res.headers.get('transfer-encoding')).toBe('chunked');
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    const chunks: string[] = [];
    // Each part is written only after the previous one was read here: buffered, this never ends.
    for (let i = 0; i < 10; i++) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(decoder.decode(value));
      partRead();
    }
    expect(chunks).toEqual(['one,', 'two,', 'three']);
  });

  test('an AsyncIterable body is streamed too', async () => {
    expect(await (await fetch(`${host.url}/api/iterable`)).text()).toBe('ab');
  });

  test('a throwing handler: 500 problem+json without the message; the log has name and message only', async () => {
    const res = await fetch(`${host.url}/api/boom`);
    expect(res.status).toBe(500);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    const text = await res.text();
    expect(JSON.parse(text)).toEqual({ type: 'about:blank', title: 'Internal Server Error', status: 500, code: 'internal_error' });
    expect(text).not.toContain('hunter2');
    const logged = lines.filter((l) => l.startsWith('[boom]'));
    expect(logged).toEqual(['[boom] Executed with error: Error: database password is hunter2']);
    expect(lines.join('\n')).not.toMatch(/at .*host\.test/); // no stack
  });

  test('request bodies: JSON, form and bytes', async () => {
    const json = await fetch(`${host.url}/api/upload`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ a: [1, 2] }),
    });
    expect(await json.json()).toEqual({ json: { a: [1, 2] } });
    const form = await fetch(`${host.url}/api/upload`, { method: 'POST', body: new URLSearchParams({ code: 'c0de', state: 's t' }) });
    expect(await form.json()).toEqual({ form: { code: 'c0de', state: 's t' } });
    const bytes = await fetch(`${host.url}/api/upload`, { method: 'PUT', body: new Uint8Array(300_000) });
    expect(await bytes.json()).toEqual({ bytes: 300_000 });
  });

  test('a streamed upload is counted: beyond the limit 413, declared or not', async () => {
    const declared = await fetch(`${host.url}/api/upload`, { method: 'POST', body: new Uint8Array(2 * 1024 * 1024) });
    expect(declared.status).toBe(413);
    const chunk = new Uint8Array(256 * 1024);
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent++ < 8) controller.enqueue(chunk);
        else controller.close();
      },
    });
    const chunked = await fetch(`${host.url}/api/upload`, { method: 'POST', body, duplex: 'half' } as RequestInit);
    expect(chunked.status).toBe(413);
    expect(await chunked.json()).toMatchObject({ status: 413, code: 'payload_too_large' });
  });

  test('HEAD: headers without a body', async () => {
    const res = await fetch(`${host.url}/api/me`, { method: 'HEAD' });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-test')).toBe('yes');
    expect(res.headers.get('content-length')).toBe('8');
    expect(await res.text()).toBe('');
  });

  test('no result: 204', async () => {
    const res = await fetch(`${host.url}/api/nothing`);
    expect(res.status).toBe(204);
  });

  test('a client leaving mid-stream does not hurt the host', async () => {
    const gone = nextLine((l) => l.startsWith('GET /api/endless -> '));
    const abort = new AbortController();
    const res = await fetch(`${host.url}/api/endless`, { signal: abort.signal });
    const reader = res.body!.getReader();
    await reader.read();
    abort.abort();
    await expect(reader.read()).rejects.toThrow();
    expect(await gone).toMatch(/^GET \/api\/endless -> 200 \(endless, client gone\)/);
    expect((await fetch(`${host.url}/api/json`)).status).toBe(202);
  });

  test('a client leaving mid-upload does not hurt the host', async () => {
    const ended = nextLine((l) => l.startsWith('POST /api/upload -> '));
    await new Promise<void>((resolve) => {
      const req = httpRequest({
        host: '127.0.0.1',
        port: host.port,
        path: '/api/upload',
        method: 'POST',
        agent: false,
        headers: { 'content-length': String(512 * 1024) },
      });
      req.on('error', () => resolve());
      req.write(Buffer.alloc(16 * 1024), () => req.destroy());
      req.on('close', () => resolve());
    });
    await ended;
    expect((await fetch(`${host.url}/api/json`)).status).toBe(202);
  });

  test('query strings never reach the request log', async () => {
    await fetch(`${host.url}/api/echo/a?code=supersecretcode`);
    expect(lines.join('\n')).not.toContain('supersecretcode');
  });
});

test('close() ends with a keep-alive socket idle and an upload stuck half-way, closes both, and frees the port', async () => {
  const other = await startLocalFunctionsHost({ functions: functions.filter((f) => f.name === 'json' || f.name === 'upload'), log: () => undefined });
  expect((await fetch(`${other.url}/api/json`)).status).toBe(202); // leaves an idle keep-alive socket
  // An upload that stops half-way: Node's server.close() alone would wait for it (until the
  // request timeout), so only the host's own cut ends this test in time. The host's
  // `100 Continue` says it is reading the body.
  const stuck = connect(other.port, '127.0.0.1');
  // A reset is how the host cuts it: 'close' is the event, whatever error comes with it.
  const stuckClosed = new Promise<void>((resolve) => stuck.once('close', () => resolve()));
  stuck.on('error', () => undefined);
  stuck.write('POST /api/upload HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\nExpect: 100-continue\r\n\r\n');
  expect(String(await once(stuck, 'data'))).toMatch(/^HTTP\/1\.1 100 Continue/);
  stuck.write('0123456789');
  await other.close();
  await stuckClosed;
  await expect(fetch(`${other.url}/api/json`)).rejects.toThrow();
});

/**
 * A body whose first chunk is sent at once and whose end waits for `release`: what reaches the
 * client before the release tells streamed from buffered.
 */
function heldStream() {
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  let waiting!: () => void;
  const handlerWaiting = new Promise<void>((resolve) => (waiting = resolve));
  const registration: HttpFunctionRegistration = {
    name: 'held',
    options: {
      methods: ['GET', 'POST'],
      handler: async (request) => {
        const upload = request.method === 'POST' ? await request.text() : '';
        return {
          headers: { 'content-type': 'text/plain' },
          body: new ReadableStream<Uint8Array>({
            async start(controller) {
              controller.enqueue(encoder.encode(`first${upload}\n`));
              waiting();
              await released;
              controller.enqueue(encoder.encode('rest\n'));
              controller.close();
            },
          }),
        };
      },
    },
  };
  return { registration, release, handlerWaiting };
}

describe('streaming follows the app\'s enableHttpStream', () => {
  test('on: the first chunk reaches the client before the handler finishes', async () => {
    const held = heldStream();
    const streaming = await startLocalFunctionsHost({ functions: [held.registration], log: () => undefined, enableHttpStream: true });
    try {
      const res = await fetch(`${streaming.url}/api/held`);
      expect(res.headers.get('transfer-encoding')).toBe('chunked');
      const reader = res.body!.getReader();
      expect(new TextDecoder().decode((await reader.read()).value)).toBe('first\n');
      held.release();
      const rest: string[] = [];
      for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) rest.push(new TextDecoder().decode(chunk.value));
      expect(rest.join('')).toBe('rest\n');
    } finally {
      held.release();
      await streaming.close();
    }
  });

  test('off (the library\'s default): the whole body is buffered, sent with its length, as the worker\'s RPC path does', async () => {
    const held = heldStream();
    const buffered = await startLocalFunctionsHost({ functions: [held.registration], log: () => undefined });
    try {
      const answer = fetch(`${buffered.url}/api/held`, { method: 'POST', body: 'upload' });
      await held.handlerWaiting;
      held.release();
      const res = await answer;
      expect(res.headers.get('transfer-encoding')).toBeNull();
      expect(res.headers.get('content-length')).toBe(String('firstupload\nrest\n'.length));
      expect(await res.text()).toBe('firstupload\nrest\n');
    } finally {
      held.release();
      await buffered.close();
    }
  });

  test('off: an upload beyond the limit is refused before the handler runs', async () => {
    const held = heldStream();
    const buffered = await startLocalFunctionsHost({ functions: [held.registration], log: () => undefined, maxRequestBodyBytes: 10 });
    try {
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(encoder.encode('x'.repeat(64)));
          controller.close();
        },
      });
      const res = await fetch(`${buffered.url}/api/held`, { method: 'POST', body, duplex: 'half' } as RequestInit);
      expect(res.status).toBe(413);
    } finally {
      held.release();
      await buffered.close();
    }
  });
});
