import type { HttpResponseInit } from '@azure/functions';
import { getRuntime } from '../shared/runtime';
import { handleErrors } from './http/handleErrors';
import { json } from './http/responses';
import { readiness } from '../shared/readiness';
import { registerHttp } from './registration';

/** 200 once someone could sign in; 503 problem+json naming the setting or the check that failed. */
export async function health(): Promise<HttpResponseInit> {
  return json(200, await readiness(await getRuntime()));
}

export const healthFunction = registerHttp('health', { route: 'health', methods: ['GET'], authLevel: 'anonymous', handler: handleErrors(health) });
