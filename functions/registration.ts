import type { HttpFunctionOptions, HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import type { RuntimeSource } from '../shared/runtime';
import type { HttpRoute } from './manifest';
import { handleErrors } from './http/handleErrors';
import { logRequests } from './http/requestLog';

/** What a host needs to serve a function: the Functions host gets the same through app.http (functions/index.ts). */
export interface HttpFunctionRegistration {
  readonly name: string;
  readonly options: HttpFunctionOptions;
}

/** A function's thin handler: the request, and where the process's runtime comes from. */
export type AppHttpHandler = (request: HttpRequest, runtime: RuntimeSource, context: InvocationContext) => Promise<HttpResponseInit>;

/** A function as a recipe: given a runtime, its registration. Nothing is bound at import time. */
export type HttpFunctionDefinition = (runtime: RuntimeSource) => HttpFunctionRegistration;

/** The function's handler inside its error layer, inside its request log line (functions/http/requestLog.ts). */
export function httpFunction({ name, ...options }: HttpRoute, handler: AppHttpHandler): HttpFunctionDefinition {
  return (runtime) => ({
    name,
    options: { ...options, handler: logRequests(name, options.route ?? name, handleErrors((request, context) => handler(request, runtime, context))) },
  });
}
