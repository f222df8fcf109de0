import { app, type HttpFunctionOptions } from '@azure/functions';

/** What the local host in dev/ needs to serve a function: the Functions host gets the same through app.http. */
export interface HttpFunctionRegistration {
  readonly name: string;
  readonly options: HttpFunctionOptions;
}

export function registerHttp(name: string, options: HttpFunctionOptions): HttpFunctionRegistration {
  app.http(name, options);
  return { name, options };
}
