import { HttpRequest, type HttpRequestInit } from '@azure/functions';
import type { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import type { RouteParams } from './route';

/** Raised through the request body stream when an upload exceeds the host's limit (answered 413). */
export class RequestBodyTooLargeError extends Error {
  override readonly name = 'RequestBodyTooLargeError';
  constructor(readonly limit: number) {
    super(`request body exceeds ${limit} bytes`);
  }
}

/** The parts of the request target the host routes on: the raw (still encoded) path and the query. */
export interface RequestTarget {
  readonly rawPath: string;
  readonly rawQuery: string;
}

/** Splits an origin-form target (`/a/b?c`); anything else (absolute-form, `*`) is not routable. */
export function parseRequestTarget(target: string | undefined): RequestTarget | null {
  if (target === undefined || !target.startsWith('/')) return null;
  const q = target.indexOf('?');
  return q < 0 ? { rawPath: target, rawQuery: '' } : { rawPath: target.slice(0, q), rawQuery: target.slice(q) };
}

/** Copies Node's headers (already joined the Node way: `, ` and `; ` for cookie) into a fetch Headers. */
export function toHeaders(incoming: IncomingMessage['headers']): Headers {
  const headers = new Headers();
  for (const [name, value] of Object.entries(incoming)) {
    if (value === undefined) continue;
    for (const v of Array.isArray(value) ? value : [value]) headers.append(name, v);
  }
  return headers;
}

/** Counts bytes through the stream and fails it beyond `limit`, so memory stays bounded whatever the handler does. */
function limitBody(source: ReadableStream<Uint8Array>, limit: number): ReadableStream<Uint8Array> {
  let seen = 0;
  return source.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        seen += chunk.byteLength;
        if (seen > limit) controller.error(new RequestBodyTooLargeError(limit));
        else controller.enqueue(chunk);
      },
    }),
  );
}

export interface BuildRequestInput {
  readonly req: IncomingMessage;
  readonly url: string;
  readonly params: RouteParams;
  readonly maxBodyBytes: number;
  /** Buffered mode (no `enableHttpStream`): the whole body, read before the handler runs, as the RPC carries it. */
  readonly bufferedBody?: Buffer;
}

/** Reads the whole upload (buffered mode), failing beyond `limit` as the host does. */
export async function readWholeBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let seen = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    seen += chunk.length;
    if (seen > limit) throw new RequestBodyTooLargeError(limit);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/**
 * Builds the HttpRequest the way the worker's streaming mode does (`createStreamRequest`): a
 * fetch Request whose body is the Node request stream, wrapped with the route params (in
 * buffered mode, the body read beforehand). The
 * `nativeRequest` init field is the library's own (not in its public typings); it keeps uploads
 * streamed instead of buffered. GET and HEAD carry no body, as in the worker.
 */
export function buildHttpRequest({ req, url, params, maxBodyBytes, bufferedBody }: BuildRequestInput): HttpRequest {
  const method = (req.method ?? 'GET').toUpperCase();
  const hasBody = method !== 'GET' && method !== 'HEAD';
  const streamed = (): ReadableStream<Uint8Array> => limitBody(Readable.toWeb(req) as ReadableStream<Uint8Array>, maxBodyBytes);
  const body = hasBody ? (bufferedBody ?? streamed()) : undefined;
  const nativeRequest = new Request(url, { method, headers: toHeaders(req.headers), body, duplex: 'half' });
  const init: HttpRequestInit & { nativeRequest: Request } = { nativeRequest, params: { ...params } };
  return new HttpRequest(init);
}
