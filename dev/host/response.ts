import { HttpResponse, type HttpResponseInit } from '@azure/functions';
import type { ServerResponse } from 'node:http';
import { serializeCookie } from './cookies';

// Hop-by-hop headers the worker's HTTP proxy drops from a handler's response.
const BLOCKED_HEADERS = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'trailers',
  'transfer-encoding',
  'upgrade',
]);

const NULL_BODY_STATUSES = new Set([101, 103, 204, 205, 304]);

/** A handler's answer, normalized: what goes on the wire before the body. */
export interface PreparedResponse {
  readonly status: number;
  readonly headers: ReadonlyArray<readonly [string, string | string[]]>;
  /** The whole body when its size is known up front (string, bytes, jsonBody); else streamed. */
  readonly bytes: Buffer | null;
  readonly stream: ReadableStream<Uint8Array> | null;
}

/**
 * Normalizes a handler result like the worker (`toRpcHttp`): an HttpResponse as is, a plain
 * object through `new HttpResponse(init)` (jsonBody → JSON with application/json). Nothing is
 * written yet, so any error here (bad status, bad cookie) still becomes a clean 500.
 */
export async function prepareResponse(result: unknown, options: { readonly stream: boolean } = { stream: true }): Promise<PreparedResponse> {
  if (result === undefined || result === null) {
    // The host answers 204 when an HTTP function returns nothing.
    return { status: 204, headers: [], bytes: null, stream: null };
  }
  if (typeof result !== 'object') {
    throw new TypeError('The HTTP response must be an object with optional properties "body", "status", "headers", and "cookies".');
  }
  const response = result instanceof HttpResponse ? result : new HttpResponse(result as HttpResponseInit);
  const headers = collectHeaders(response);
  const noBody = NULL_BODY_STATUSES.has(response.status);
  if (noBody || response.body === null) {
    await response.body?.cancel().catch(() => undefined);
    return { status: response.status, headers, bytes: noBody ? null : Buffer.alloc(0), stream: null };
  }
  // Buffered mode (no enableHttpStream): the worker reads the whole body into the RPC message
  // (`toRpcHttp`) before the host sends a byte.
  if (!options.stream || (!(result instanceof HttpResponse) && hasKnownSize(result as HttpResponseInit))) {
    return { status: response.status, headers, bytes: Buffer.from(await response.arrayBuffer()), stream: null };
  }
  return { status: response.status, headers, bytes: null, stream: response.body as ReadableStream<Uint8Array> };
}

function hasKnownSize(init: HttpResponseInit): boolean {
  if (init.jsonBody !== undefined && init.jsonBody !== null) return true;
  const body = init.body;
  return typeof body === 'string' || ArrayBuffer.isView(body) || body instanceof ArrayBuffer;
}

/**
 * The headers as the worker's stream-mode proxy writes them (`sendProxyResponse`): each header
 * entry through setHeader, so of several Set-Cookie headers the last one stands; then, when the
 * response has `cookies`, one Set-Cookie per cookie REPLACES any header Set-Cookie.
 */
function collectHeaders(response: HttpResponse): Array<readonly [string, string | string[]]> {
  const out: Array<readonly [string, string | string[]]> = [];
  const connectionListed = new Set(
    (response.headers.get('connection') ?? '')
      .split(',')
      .map((h) => h.trim().toLowerCase())
      .filter(Boolean),
  );
  for (const [name, value] of response.headers) {
    if (name === 'set-cookie' || BLOCKED_HEADERS.has(name) || connectionListed.has(name)) continue;
    out.push([name, value]);
  }
  const headerCookies = response.headers.getSetCookie();
  const setCookies = response.cookies.length > 0 ? response.cookies.map(serializeCookie) : headerCookies.slice(-1);
  if (setCookies.length > 0) out.push(['set-cookie', setCookies]);
  return out;
}

/**
 * Writes a prepared response. Streams chunk by chunk with backpressure; a HEAD request gets the
 * headers only. Resolves once done; a client that went away ends the stream quietly (the
 * returned flag says whether the body was delivered).
 */
export async function writePreparedResponse(res: ServerResponse, prepared: PreparedResponse, isHead: boolean): Promise<boolean> {
  res.statusCode = prepared.status;
  for (const [name, value] of prepared.headers) {
    // A streamed body is framed by Node (chunked); a stale length (e.g. of a decompressed upstream) would break it.
    if (prepared.stream && !isHead && name === 'content-length') continue;
    res.setHeader(name, value);
  }
  if (prepared.bytes && !res.hasHeader('content-length')) res.setHeader('content-length', prepared.bytes.length);
  if (isHead || !prepared.stream) {
    await prepared.stream?.cancel().catch(() => undefined);
    return endResponse(res, isHead || !prepared.bytes ? undefined : prepared.bytes);
  }
  return pumpBody(res, prepared.stream);
}

/**
 * The body chunk by chunk, waiting for the socket to drain when it is full: what
 * `pipeline(Readable.fromWeb(stream), res)` does, without a Node stream wrapper and an
 * AbortController (and its DOMException) per answer. A client that leaves cancels the body's
 * stream (the handler's source learns at once); a body that fails after the headers went out
 * cuts the connection.
 */
async function pumpBody(res: ServerResponse, body: ReadableStream<Uint8Array>): Promise<boolean> {
  const reader = body.getReader();
  let gone = false;
  let wake: (() => void) | undefined;
  const onClose = () => {
    gone = true;
    wake?.();
    reader.cancel().catch(() => undefined);
  };
  res.once('close', onClose);
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (gone) return false;
      if (done) break;
      if (!res.write(value)) {
        await new Promise<void>((resolve) => {
          wake = resolve;
          res.once('drain', resolve);
        });
        res.off('drain', wake!);
        wake = undefined;
        if (gone) return false;
      }
    }
    res.off('close', onClose);
    return await endResponse(res, undefined);
  } catch {
    res.off('close', onClose);
    reader.cancel().catch(() => undefined);
    res.destroy();
    return false;
  }
}

function endResponse(res: ServerResponse, body: Buffer | undefined): Promise<boolean> {
  return new Promise((resolve) => {
    if (res.destroyed) return resolve(false);
    res.once('close', () => resolve(res.writableFinished));
    res.end(body);
  });
}

/** The body of every unhandled failure: RFC 9457, never the error's message or stack. */
export const INTERNAL_ERROR_PROBLEM = {
  type: 'about:blank',
  title: 'Internal Server Error',
  status: 500,
  code: 'internal_error',
} as const;

export function writeProblem(res: ServerResponse, problem: { readonly status: number }, isHead: boolean): void {
  if (res.headersSent || res.destroyed) {
    res.destroy();
    return;
  }
  const body = Buffer.from(JSON.stringify(problem));
  res.writeHead(problem.status, { 'content-type': 'application/problem+json', 'content-length': body.length });
  res.end(isHead ? undefined : body);
}
