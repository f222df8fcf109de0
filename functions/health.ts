import type { HttpResponseInit } from '@azure/functions';
import { getRuntime } from '../shared/runtime';
import { handleErrors } from './http/handleErrors';
import { json } from './http/responses';
import { registerHttp } from './registration';

/** 200 once the configuration is valid; a configuration error answers 503 naming the setting. */
export async function health(): Promise<HttpResponseInit> {
  const runtime = await getRuntime();
  return json(200, { status: 'ok', authority: runtime.config.authority.kind, apis: [...runtime.config.downstreamApis.values()].map((a) => a.name) });
}

export const healthFunction = registerHttp('health', { route: 'health', methods: ['GET'], authLevel: 'anonymous', handler: handleErrors(health) });
