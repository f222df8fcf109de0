/**
 * A fresh process for `npm run bench:cold`: the app's functions on the local host, registered and
 * bundled as the deployed app is (functions/index.ts): every function from the manifest at load,
 * their code (handlers.js beside this bundle, every dependency inlined, minified) at the first
 * call. Settings come from the bench (BENCH_SETTINGS, JSON); the dev CA from NODE_EXTRA_CA_CERTS.
 * Once listening prints its port, its start (performance.timeOrigin) and the ms since.
 */
import { lazyFunctions, loadHandlers } from '../../functions/lazy';
import { APP_SETUP } from '../../functions/manifest';
import { startLocalFunctionsHost } from '../../dev/host';

async function main(): Promise<void> {
  const settings = JSON.parse(process.env['BENCH_SETTINGS'] ?? '{}') as Record<string, string>;
  const functions = lazyFunctions(() => loadHandlers().startHandlers(settings, { log: () => {} }));
  const host = await startLocalFunctionsHost({ functions: functions.http, port: 0, hostname: '127.0.0.1', log: () => {}, enableHttpStream: APP_SETUP.enableHttpStream });
  process.stdout.write(`listening ${host.port} ${performance.timeOrigin} ${performance.now()}\n`);
}

// bench:cold's profile runs (BENCH_COLD_PROF): exit normally on SIGINT, so --cpu-prof writes its file.
process.once('SIGINT', () => process.exit(0));
void main();
