/**
 * A fresh process for `npm run bench:cold`: the app's functions on the local host, bundled as the deployed app is (every dependency inlined,
 * minified), so what loads at a cold start is what loads in Azure. Settings come from the bench
 * (BENCH_SETTINGS, JSON); the dev CA from NODE_EXTRA_CA_CERTS. Prints its port once listening.
 */
import { createHttpFunctions } from '../../functions/app';
import { runtimeSource } from '../../shared/runtime';
import { startLocalFunctionsHost } from '../../dev/host';
import { observeDependencies } from '../../shared/observe';

async function main(): Promise<void> {
  observeDependencies(); // as functions/index.ts does
  const functions = createHttpFunctions(runtimeSource(JSON.parse(process.env['BENCH_SETTINGS'] ?? '{}') as Record<string, string>, { log: () => {} }));
  const host = await startLocalFunctionsHost({ functions, port: 0, hostname: '127.0.0.1', log: () => {}, enableHttpStream: true });
  process.stdout.write(`listening ${host.port}\n`);
}

void main();
