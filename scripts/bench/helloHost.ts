// `npm run bench:cold`'s reference host: one hello function on the local host, bundled as coldHost.ts is.
import { startLocalFunctionsHost } from '../../dev/host';

// As coldHost.ts: a normal exit on SIGINT, for --cpu-prof.
process.once('SIGINT', () => process.exit(0));

void startLocalFunctionsHost({
  functions: [{ name: 'hello', options: { route: 'hello', methods: ['GET'], authLevel: 'anonymous', handler: async () => ({ status: 200, body: 'hello' }) } }],
  port: 0,
  hostname: '127.0.0.1',
  log: () => {},
  enableHttpStream: true,
}).then((host) => process.stdout.write(`listening ${host.port} ${performance.timeOrigin} ${performance.now()}\n`));
