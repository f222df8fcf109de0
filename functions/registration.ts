import { app, type HttpFunctionOptions } from '@azure/functions';
import { logRequests } from './http/requestLog';

/** What the local host in dev/ needs to serve a function: the Functions host gets the same through app.http. */
export interface HttpFunctionRegistration {
  readonly name: string;
  readonly options: HttpFunctionOptions;
}

/** Registers a function with its request log line around it (functions/http/requestLog.ts). */
export function registerHttp(name: string, options: HttpFunctionOptions): HttpFunctionRegistration {
  const logged: HttpFunctionOptions = { ...options, handler: logRequests(name, options.route ?? name, options.handler) };
  app.http(name, logged);
  return { name, options: logged };
}
