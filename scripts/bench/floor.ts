/**
 * The floor: what any design pays per proxied call on this host. A bare function on the same
 * local host (its request mapping and response writing), one point read of a row of the same
 * size from the same Azurite (a plain GET with a table SAS: no client library, no signing per
 * call) and the direct call to the demo API with a valid bearer token.
 */
import type { HttpRequest, HttpResponseInit } from '@azure/functions';
import type { HttpFunctionRegistration } from '../../functions/registration';

export interface FloorOptions {
  /** The entity's URL with a read SAS, e.g. `.../TokenCache(PartitionKey='x',RowKey='floor')?sv=...`. */
  readonly rowUrl: string;
  readonly apiUrl: string;
  readonly accessToken: string;
}

/**
 * `meter`: gets the CPU of the API call alone (`floor.api`, from its start until its answer's
 * headers are in hand, as the host's meter spans a handler), which the bench takes off the
 * proxy's handler CPU to give the app's own work with its Table read.
 */
export function floorFunction(options: FloorOptions, meter?: (name: string, cpuMicros: number) => void): HttpFunctionRegistration {
  const handler = async (_request: HttpRequest): Promise<HttpResponseInit> => {
    const row = await fetch(options.rowUrl, { headers: { accept: 'application/json;odata=nometadata', 'x-ms-version': '2019-02-02' }, signal: AbortSignal.timeout(10_000) });
    if (row.status !== 200) return { status: 502 };
    await row.arrayBuffer();
    const cpuBefore = meter && process.cpuUsage();
    const answer = await fetch(options.apiUrl, { headers: { authorization: `Bearer ${options.accessToken}` }, signal: AbortSignal.timeout(10_000) });
    if (cpuBefore) {
      const used = process.cpuUsage(cpuBefore);
      meter?.('floor.api', used.user + used.system);
    }
    return { status: answer.status, headers: { 'content-type': answer.headers.get('content-type') ?? 'application/json' }, body: answer.body ?? undefined };
  };
  return { name: 'floor', options: { route: 'floor', methods: ['GET'], authLevel: 'anonymous', handler } };
}
