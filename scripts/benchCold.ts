/**
 * `npm run bench:cold`: what a cold instance costs, over fresh processes.
 *
 * - module load: `require()` of the deployed entry (dist/deploy/app.js), next to a minimal v4
 *   "hello" app built the same way (scripts/bench/hello.ts), and of the handlers bundle the entry
 *   loads at the first call (dist/deploy/handlers.js), alone and after what a host has loaded
 *   by then (its HTTP server, fetch's Request);
 * - first 200 from /api/health, and first proxied 200 for a user whose valid token is in the
 *   cache row, each in a process of its own: the app's functions on the local host, registered
 *   and bundled as the deployed app is (scripts/bench/coldHost.ts), against this process's
 *   Azurite, dev provider and demo API; and the same host with one hello function. Each is timed
 *   from spawning the process (what a caller waits, node's own start included) and from the
 *   process's start as the child reports it (`performance.timeOrigin`: what the target is read
 *   against), with the time from that start to listening.
 *
 * Prints one table (median, min, max over BENCH_COLD_RUNS processes, default 10) and writes
 * bench/cold.json. Asserts nothing. BENCH_COLD_PROF=<dir>: a V8 CPU profile of every host process.
 */
import '../dev/quietTestMode';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { startLocalStack } from '../dev/stack';
import { CookieJar, proxyCall, signIn } from '../test/support/browserless';
import { percentile } from './bench/percentile';

const RUNS = Number(process.env['BENCH_COLD_RUNS'] ?? 10);
const PROFILE_DIR = process.env['BENCH_COLD_PROF'];
const NODE = process.execPath;

function stats(values: number[]): { median: number; min: number; max: number } {
  const round = (n: number) => Math.round(n * 10) / 10;
  return { median: round(percentile(values, 50)), min: round(Math.min(...values)), max: round(Math.max(...values)) };
}

/**
 * What a host has loaded before it calls the first function: Node's HTTP server, and fetch's
 * `Request` (undici), as the local host and the Functions worker build each request as one.
 */
const HOST_LOADED = "require('node:http').createServer();new Request('http://localhost/');";

/** Milliseconds to `require()` a bundle in a fresh process (as the Functions worker loads it), after `before` has run. */
function moduleLoad(bundle: string, before = ''): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(NODE, ['-e', `${before}const t=performance.now();require(process.argv[1]);process.stdout.write('\\nload-ms '+(performance.now()-t)+'\\n');process.exit(0)`, bundle], { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    // The bundle may print (the Functions library notes its streaming mode): the figure has its own line.
    child.on('exit', (code) => {
      const ms = Number(/^load-ms (\S+)$/m.exec(out)?.[1]);
      if (code === 0 && Number.isFinite(ms)) resolve(ms);
      else reject(new Error(`loading ${bundle} failed (${code})`));
    });
  });
}

interface FirstOk {
  /** From spawning the host to the answer's last byte here. */
  readonly fromSpawn: number;
  /** From the host process's own start (its performance.timeOrigin) to the same moment. */
  readonly fromProcessStart: number;
  /** From the host process's start to its listening socket. */
  readonly listening: number;
}

/** The first 200 of `path` from a fresh host, asked as soon as it listens (it prints `listening <port> <timeOrigin> <ms since>`). */
function firstOk(args: string[], env: NodeJS.ProcessEnv, path: string, headers: Record<string, string>): Promise<FirstOk> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const profile = PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${PROFILE_DIR}`] : [];
    const child = spawn(NODE, [...profile, ...args], { env, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    let asked = false;
    const fail = (error: Error) => {
      child.kill();
      reject(error);
    };
    const timer = setTimeout(() => fail(new Error(`${path}: no answer within 30 s`)), 30_000);
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const listening = /listening (\d+) (\S+) (\S+)\n/.exec(out);
      if (!listening || asked) return;
      asked = true;
      const [, port, childOrigin, childListening] = listening;
      fetch(`http://127.0.0.1:${port}${path}`, { headers })
        .then(async (answer) => {
          await answer.arrayBuffer();
          const now = performance.now();
          // Both clocks are the machine's wall clock at their origins: the child's start is placed on ours.
          const result = { fromSpawn: now - started, fromProcessStart: performance.timeOrigin + now - Number(childOrigin), listening: Number(childListening) };
          clearTimeout(timer);
          // SIGINT, not SIGKILL: a profiled host writes its profile on the way out.
          child.kill(PROFILE_DIR ? 'SIGINT' : 'SIGTERM');
          if (answer.status !== 200) reject(new Error(`${path} answered ${answer.status}`));
          else child.once('exit', () => resolve(result));
        })
        .catch((error: unknown) => {
          clearTimeout(timer);
          fail(error instanceof Error ? error : new Error(String(error)));
        });
    });
  });
}

async function main(): Promise<void> {
  const loadAtStart = loadavg()[0]!;
  const stack = await startLocalStack({ settings: {}, port: 0, log: () => {} });
  const scratch = mkdtempSync(join(tmpdir(), 'bench-cold-'));
  try {
    await (await import('../test/support/cacheRows')).cacheTable(stack).createTable();
    const jar = new CookieJar();
    await signIn(stack.appUrl, jar);
    const warm = await proxyCall(stack.appUrl, jar, 'demo/profile');
    if (warm.status !== 200) throw new Error(`the first proxied call answered ${warm.status}`);

    const caFile = join(scratch, 'dev-ca.pem');
    writeFileSync(caFile, stack.caCertPem!);
    const env = { ...process.env, NODE_EXTRA_CA_CERTS: caFile, BENCH_SETTINGS: JSON.stringify(stack.settings) };
    const host = join(__dirname, '..', 'bench-cold', 'coldHost.js');
    const proxyHeaders = { cookie: jar.header(), 'x-csrf': '1' };

    const samples: Record<string, number[]> = {};
    const add = (name: string, value: number) => (samples[name] ??= []).push(value);
    const addFirstOk = (name: string, result: FirstOk) => {
      add(name, result.fromSpawn);
      add(`${name}FromStart`, result.fromProcessStart);
      add(`${name}Listening`, result.listening);
    };
    for (let i = 0; i < RUNS; i++) {
      add('appLoad', await moduleLoad(join(__dirname, '..', 'deploy', 'app.js')));
      add('helloLoad', await moduleLoad(join(__dirname, '..', 'bench-cold', 'hello.js')));
      add('handlersLoad', await moduleLoad(join(__dirname, '..', 'deploy', 'handlers.js')));
      add('handlersInHostLoad', await moduleLoad(join(__dirname, '..', 'deploy', 'handlers.js'), HOST_LOADED));
      addFirstOk('health', await firstOk([host], env, '/api/health', {}));
      addFirstOk('proxy', await firstOk([host], env, '/api/proxy/demo/profile', proxyHeaders));
      addFirstOk('hello', await firstOk([join(__dirname, '..', 'bench-cold', 'helloHost.js')], env, '/api/hello', {}));
    }
    const deploy = join(__dirname, '..', 'deploy');
    const files = readdirSync(deploy).map((name) => ({ name, bytes: statSync(join(deploy, name)).size }));
    const result = {
      date: new Date().toISOString(),
      node: process.version,
      runs: RUNS,
      loadAverage: { start: loadAtStart, end: loadavg()[0] },
      // handlersInHost: after what a host has loaded before its first call (HOST_LOADED), which the handlers' HTTP clients use too.
      moduleLoadMs: { app: stats(samples['appLoad']!), hello: stats(samples['helloLoad']!), handlers: stats(samples['handlersLoad']!), handlersInHost: stats(samples['handlersInHostLoad']!) },
      // From spawning the host process.
      firstOkMs: { health: stats(samples['health']!), proxy: stats(samples['proxy']!), hello: stats(samples['hello']!) },
      // From the host process's own start (performance.timeOrigin): what the 150 ms target is read against.
      firstOkFromProcessStartMs: { health: stats(samples['healthFromStart']!), proxy: stats(samples['proxyFromStart']!), hello: stats(samples['helloFromStart']!) },
      // From the host process's start to its listening socket (node's start-up, the bundle's load, the host's own).
      listeningMs: { app: stats([...samples['healthListening']!, ...samples['proxyListening']!]), hello: stats(samples['helloListening']!) },
      deployFolder: files,
    };
    const ratio = Math.round((result.moduleLoadMs.app.median / result.moduleLoadMs.hello.median) * 100) / 100;
    const proxyToHello = Math.round((result.firstOkFromProcessStartMs.proxy.median / result.firstOkFromProcessStartMs.hello.median) * 100) / 100;
    const row = (name: string, s: { median: number; min: number; max: number }) => `| ${name.padEnd(44)} | ${String(s.median).padStart(6)} | ${String(s.min).padStart(6)} | ${String(s.max).padStart(6)} |`;
    console.log(`\nnpm run bench:cold: ${RUNS} fresh processes each, Node ${process.version}, load average ${loadAtStart.toFixed(2)} at start\n`);
    console.log(`| ${'ms'.padEnd(44)} | median |    min |    max |\n|${'-'.repeat(46)}|--------|--------|--------|`);
    console.log(row('module load, deployed app bundle', result.moduleLoadMs.app));
    console.log(row('module load, hello bundle', result.moduleLoadMs.hello));
    console.log(row('module load, handlers (at the first call)', result.moduleLoadMs.handlers));
    console.log(row('module load, handlers after http and Request', result.moduleLoadMs.handlersInHost));
    console.log(row('spawn to first 200, /api/health', result.firstOkMs.health));
    console.log(row('spawn to first 200, /api/proxy (token cached)', result.firstOkMs.proxy));
    console.log(row('spawn to first 200, hello', result.firstOkMs.hello));
    console.log(row('process start to first 200, /api/health', result.firstOkFromProcessStartMs.health));
    console.log(row('process start to first 200, /api/proxy', result.firstOkFromProcessStartMs.proxy));
    console.log(row('process start to first 200, hello', result.firstOkFromProcessStartMs.hello));
    console.log(row('process start to listening, app host', result.listeningMs.app));
    console.log(row('process start to listening, hello host', result.listeningMs.hello));
    console.log(`\nmodule load app/hello: ${ratio}; first 200 from process start, proxy/hello: ${proxyToHello}; deployed folder: ${files.map((f) => `${f.name} ${f.bytes} B`).join(', ')}`);
    mkdirSync('bench', { recursive: true });
    writeFileSync('bench/cold.json', `${JSON.stringify({ ...result, moduleLoadRatio: ratio, proxyToHelloFromProcessStart: proxyToHello }, null, 2)}\n`);
    console.log('written: bench/cold.json');
  } finally {
    rmSync(scratch, { recursive: true, force: true });
    await stack.close();
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(1);
});
