import { problems, type ProblemError } from './problems';

/** Proxied request bodies are read whole (so a call can be replayed after a refresh) up to this size. */
export const MAX_PROXY_BODY_BYTES = 4 * 1024 * 1024;

export function bodyTooLarge(limit: number, what = 'The request body'): ProblemError {
  return problems.request_body_too_large(`${what} may hold at most ${limit} bytes.`, { limit });
}

/**
 * Reads a request body into memory, never more than `limit` bytes: a declared Content-Length
 * over the limit is refused before reading, a chunked body as soon as it passes the limit
 * (the rest is not read). Nothing has been sent anywhere when it throws.
 */
export async function readBoundedBody(body: ReadableStream<Uint8Array> | null, contentLength: string | null, limit: number, tooLarge: () => ProblemError = () => bodyTooLarge(limit)): Promise<Uint8Array | null> {
  // Left unread, not cancelled: the host drops the connection of an upload it did not read.
  if (contentLength !== null && Number(contentLength) > limit) throw tooLarge();
  if (!body) return null;
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => undefined);
      throw tooLarge();
    }
    chunks.push(value);
  }
  const whole = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    whole.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return whole;
}
