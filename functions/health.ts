import type { HttpRequest, HttpResponseInit } from '@azure/functions';
import type { RuntimeSource } from '../shared/runtime';
import { json } from './http/responses';
import { readiness } from '../shared/readiness';
import { httpFunction } from './registration';
import { ROUTES } from './manifest';

/** 200 once someone could sign in; 503 problem+json naming the setting or the check that failed. */
export async function health(_request: HttpRequest, source: RuntimeSource): Promise<HttpResponseInit> {
  return json(200, await readiness(await source.get()));
}

export const healthFunction = httpFunction(ROUTES.health, health);
