/**
 * The local Functions host behind `npm start`: serves v4 HTTP handlers on loopback with the
 * Functions host's semantics (route prefix, route templates, methods, cookies, streaming), since
 * outside the real host `app.http` registers nothing.
 */
import { InvocationContext, output, trigger, type HttpFunctionOptions, type HttpMethod } from '@azure/functions';
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { format } from 'node:util';
import type { HttpFunctionRegistration } from '../functions/registration';
import { buildHttpRequest, parseRequestTarget, readWholeBody, RequestBodyTooLargeError } from './host/request';
import { normalizePath } from './host/path';
import { INTERNAL_ERROR_PROBLEM, prepareResponse, writePreparedResponse, writeProblem } from './host/response';
import { compareRoutePrecedence, compileRoute, matchRoute, type CompiledRoute, type RouteParams } from './host/route';

export { compileRoute, matchRoute, decodePathValue, compareRoutePrecedence } from './host/route';
export { normalizePath } from './host/path';
export type { CompiledRoute, RouteParams, RouteSegment } from './host/route';
export { serializeCookie } from './host/cookies';

export interface LocalFunctionsHostOptions {
  readonly functions: readonly HttpFunctionRegistration[];
  /** 0 (the default) picks a free port. */
  readonly port?: number;
  readonly hostname?: string;
  /** host.json `extensions.http.routePrefix`; default `api`, `''` for none. */
  readonly routePrefix?: string;
  readonly log?: (line: string) => void;
  /** Uploads beyond this answer 413; the host's own limit is 100 MB. */
  readonly maxRequestBodyBytes?: number;
  /**
   * The app's `app.setup({ enableHttpStream })`: streamed request and response bodies when true,
   * both buffered whole (as the worker's RPC path does) when false or absent, the library's default.
   */
  readonly enableHttpStream?: boolean;
  /**
   * A dev convenience: `GET /` answers 302 to this path (the demo page, `/api/`). Under the
   * Functions host in Azure, `/` is the host's own page and no function can answer it.
   */
  readonly rootRedirect?: string;
  /** The origin printed in the route list (the redirect URI's), when it differs from the listening address. */
  readonly publicUrl?: string;
}

/**
 * For `npm run bench`'s measured process: the CPU time (user + system, microseconds) from a
 * handler's call until its answer is in hand, per function name. Off unless set; at one request
 * at a time it is that handler's own work (its outbound calls included, the host's excluded).
 */
let handlerCpuMeter: ((functionName: string, cpuMicros: number) => void) | undefined;
export function meterHandlerCpu(meter: ((functionName: string, cpuMicros: number) => void) | undefined): void {
  handlerCpuMeter = meter;
}

export interface LocalFunctionsHost {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

export interface RouteEntry {
  readonly name: string;
  readonly options: HttpFunctionOptions;
  readonly route: CompiledRoute;
  readonly methods: ReadonlySet<string>;
}

// The library's default when `methods` is not given (trigger.http).
const DEFAULT_METHODS: readonly HttpMethod[] = ['GET', 'POST'];
const DEFAULT_MAX_BODY = 100 * 1024 * 1024;
const CLOSE_GRACE_MS = 2000;
/** Kestrel's limit for the request line and headers together. */
const MAX_HEADER_BYTES = 32 * 1024;

function headersTooLargeAnswer(): string {
  const body = JSON.stringify({ type: 'about:blank', title: 'Request Header Fields Too Large', status: 431, code: 'request_headers_too_large', detail: `The request's header section exceeds ${MAX_HEADER_BYTES} bytes.` });
  return `HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-type: application/problem+json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`;
}

/** Compiles every registration's route under the prefix and orders them most specific first. */
export function buildRouteTable(functions: readonly HttpFunctionRegistration[], routePrefix = 'api'): RouteEntry[] {
  const prefix = routePrefix.replace(/^\/+|\/+$/g, '');
  const seen = new Set<string>();
  const entries = functions.map((fn): RouteEntry => {
    const key = fn.name.toLowerCase();
    if (seen.has(key)) throw new Error(`Function "${fn.name}" is registered twice`);
    seen.add(key);
    const template = (fn.options.route ?? fn.name).replace(/^\/+/, '');
    const full = [prefix, template].filter((p) => p !== '').join('/');
    const methods = new Set((fn.options.methods ?? DEFAULT_METHODS).map((m) => m.toUpperCase()));
    return { name: fn.name, options: fn.options, route: compileRoute(full), methods };
  });
  // Stable sort: equal precedence keeps registration order.
  return entries.sort((a, b) => compareRoutePrecedence(a.route, b.route));
}

/** The first route that matches both path and method; a path match with the wrong method is a miss (404), as in the host. */
export function findRoute(
  table: readonly RouteEntry[],
  method: string,
  rawPath: string,
): { entry: RouteEntry; params: RouteParams } | null {
  const path = rawPath.replace(/^\//, '');
  for (const entry of table) {
    if (!entry.methods.has(method)) continue;
    const params = matchRoute(entry.route, path);
    if (params) return { entry, params };
  }
  return null;
}

export async function startLocalFunctionsHost(options: LocalFunctionsHostOptions): Promise<LocalFunctionsHost> {
  const hostname = options.hostname ?? '127.0.0.1';
  const log = options.log ?? ((line: string) => console.log(line));
  const table = buildRouteTable(options.functions, options.routePrefix ?? 'api');
  const maxBodyBytes = options.maxRequestBodyBytes ?? DEFAULT_MAX_BODY;
  let port = 0;

  const server: Server = createServer({ maxHeaderSize: MAX_HEADER_BYTES }, (req, res) => {
    const settings: DispatchSettings = { table, log, maxBodyBytes, stream: options.enableHttpStream ?? false, fallbackHost: `${urlHost(hostname)}:${port}`, rootRedirect: options.rootRedirect };
    // dispatch never rejects, but a bug must not take the dev server down.
    dispatch(req, res, settings).catch((err: unknown) => {
      log(`host: unexpected ${describeError(err)}`);
      writeProblem(res, INTERNAL_ERROR_PROBLEM, req.method === 'HEAD');
    });
  });
  // A client that resets mid-request must not surface as an unhandled error; an oversized
  // header section gets 431 (as Kestrel answers in the Functions host), not a dropped connection.
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    if (err.code === 'HPE_HEADER_OVERFLOW' && socket.writable) {
      socket.end(headersTooLargeAnswer());
      return;
    }
    socket.destroy();
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, hostname, () => {
      server.off('error', reject);
      resolve();
    });
  });
  port = (server.address() as AddressInfo).port;
  const url = `http://${urlHost(hostname)}:${port}`;
  const shown = options.publicUrl ?? url;
  for (const entry of table) log(`${entry.name}: [${[...entry.methods].join(',')}] ${shown}/${entry.route.template}`);

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= new Promise<void>((resolve) => {
      const timer = setTimeout(() => server.closeAllConnections(), CLOSE_GRACE_MS);
      timer.unref();
      server.close(() => {
        clearTimeout(timer);
        resolve();
      });
      server.closeIdleConnections();
    });
    return closing;
  };
  return { url, port, close };
}

interface DispatchSettings {
  readonly table: readonly RouteEntry[];
  readonly log: (line: string) => void;
  readonly maxBodyBytes: number;
  readonly stream: boolean;
  readonly fallbackHost: string;
  readonly rootRedirect?: string;
}

/** One request: route, invoke, write. Never rejects for handler errors; maps them to 500. */
async function dispatch(req: IncomingMessage, res: ServerResponse, settings: DispatchSettings): Promise<void> {
  const started = Date.now();
  const method = (req.method ?? 'GET').toUpperCase();
  const isHead = method === 'HEAD';
  const target = parseRequestTarget(req.url);
  // Routed as Kestrel routes it: escapes decoded, then dot segments removed.
  const path = target ? normalizePath(target.rawPath) : undefined;
  // The path only: query strings can carry codes and tokens, which never go to a log.
  const done = (status: number, name?: string): void =>
    settings.log(`${method} ${path ?? '?'} -> ${status}${name ? ` (${name})` : ''} ${Date.now() - started}ms`);

  if (settings.rootRedirect && target && path === '/' && (method === 'GET' || isHead)) {
    res.writeHead(302, { location: settings.rootRedirect + target.rawQuery, 'cache-control': 'no-store', 'content-length': 0 }).end();
    return done(302);
  }
  const found = target && path !== undefined && findRoute(settings.table, method, path);
  if (!target || !found) {
    res.writeHead(404, { 'content-length': 0 }).end();
    return done(404);
  }
  const { entry, params } = found;
  const declaredLength = Number(req.headers['content-length'] ?? 0);
  if (declaredLength > settings.maxBodyBytes) {
    res.setHeader('connection', 'close');
    writeProblem(res, { ...PAYLOAD_TOO_LARGE }, isHead);
    return done(413, entry.name);
  }

  let bufferedBody: Buffer | undefined;
  if (!settings.stream && method !== 'GET' && !isHead) {
    try {
      bufferedBody = await readWholeBody(req, settings.maxBodyBytes);
    } catch (err) {
      if (!isTooLarge(err)) {
        // The client left mid-upload: nobody to answer.
        res.destroy();
        return done(499, entry.name);
      }
      res.setHeader('connection', 'close');
      writeProblem(res, { ...PAYLOAD_TOO_LARGE }, isHead);
      return done(413, entry.name);
    }
  }

  let request;
  try {
    const host = req.headers.host ?? settings.fallbackHost;
    request = buildHttpRequest({ req, url: `http://${host}${path}${target.rawQuery}`, params, maxBodyBytes: settings.maxBodyBytes, bufferedBody });
  } catch {
    // An unparsable Host header or target: the request is malformed, not the handler's problem.
    res.writeHead(400, { 'content-length': 0, connection: 'close' }).end();
    return done(400, entry.name);
  }
  const context = createContext(entry, settings.log);
  // Unread upload left on the socket when the response ends: drop the connection rather than desync it.
  res.once('finish', () => {
    if (!req.complete) req.destroy();
  });

  let prepared;
  try {
    const cpuBefore = handlerCpuMeter && process.cpuUsage();
    const result: unknown = await entry.options.handler(request, context);
    if (cpuBefore) {
      const used = process.cpuUsage(cpuBefore);
      handlerCpuMeter?.(entry.name, used.user + used.system);
    }
    prepared = await prepareResponse(result, { stream: settings.stream });
  } catch (err) {
    if (isTooLarge(err)) {
      res.setHeader('connection', 'close');
      writeProblem(res, { ...PAYLOAD_TOO_LARGE }, isHead);
      return done(413, entry.name);
    }
    settings.log(`[${entry.name}] Executed with error: ${describeError(err)}`);
    writeProblem(res, INTERNAL_ERROR_PROBLEM, isHead);
    return done(500, entry.name);
  }
  if (!req.complete && method !== 'GET' && method !== 'HEAD') res.setHeader('connection', 'close');
  const delivered = await writePreparedResponse(res, prepared, isHead);
  done(prepared.status, delivered ? entry.name : `${entry.name}, client gone`);
}

const PAYLOAD_TOO_LARGE = {
  type: 'about:blank',
  title: 'Payload Too Large',
  status: 413,
  code: 'payload_too_large',
} as const;

function isTooLarge(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    if (e instanceof RequestBodyTooLargeError) return true;
  }
  return false;
}

/** An InvocationContext whose log methods write `[name] level: message` lines to the host log. */
function createContext(entry: RouteEntry, log: (line: string) => void): InvocationContext {
  return new InvocationContext({
    functionName: entry.name,
    invocationId: randomUUID(),
    logHandler: (level, ...args) => log(`[${entry.name}] ${level}: ${format(...args)}`),
    options: {
      trigger:
        entry.options.trigger ??
        trigger.http({ methods: [...entry.methods] as HttpMethod[], route: entry.options.route, authLevel: entry.options.authLevel }),
      return: entry.options.return ?? output.http({}),
      extraInputs: entry.options.extraInputs ?? [],
      extraOutputs: entry.options.extraOutputs ?? [],
    },
  });
}

/** Name and message only: a stack can carry request values into the log. */
function describeError(err: unknown): string {
  if (err instanceof Error) return `${err.name}: ${err.message}`;
  return typeof err === 'string' ? err : 'non-Error value thrown';
}

function urlHost(hostname: string): string {
  return hostname.includes(':') ? `[${hostname}]` : hostname;
}
