/**
 * Azurite's Table service for `npm start` and the integration tests: in memory, on loopback, in a
 * child process (Azurite's package entry needs `vscode`, so its table server runs on its own).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

export interface AzuriteTableOptions {
  /** 0 or absent: a free port. */
  readonly port?: number;
  /** How long to wait for the port to accept connections; default 15 s. */
  readonly startTimeoutMs?: number;
}

export interface AzuriteTable {
  readonly port: number;
  readonly connectionString: string;
  readonly tableEndpoint: string;
  close(): Promise<void>;
}

// The well-known Azurite / storage emulator development account (public, documented by Microsoft).
export const DEV_ACCOUNT_NAME = 'devstoreaccount1';
export const DEV_ACCOUNT_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

const HOST = '127.0.0.1';
const POLL_INTERVAL_MS = 100;
const STOP_TIMEOUT_MS = 5000;
const OUTPUT_TAIL_CHARS = 2000;

/** The connection string the Azure SDKs parse for Azurite's table endpoint (http needs `allowInsecureConnection`). */
export function azuriteTableConnectionString(tableEndpoint: string): string {
  return `DefaultEndpointsProtocol=http;AccountName=${DEV_ACCOUNT_NAME};AccountKey=${DEV_ACCOUNT_KEY};TableEndpoint=${tableEndpoint};`;
}

/**
 * A free loopback port for a server that must know its port before it listens (the redirect URI,
 * a child process's flag). Picked below Linux's ephemeral range (32768-60999), where the OS hands
 * out ports for listen(0) and outgoing connections: between this check and the real listen,
 * no other server or connection on the machine can take it, only another caller of this.
 */
const PORT_RANGE = { from: 20000, to: 32000 };
const PORT_ATTEMPTS = 100;

export async function findFreePort(): Promise<number> {
  for (let attempt = 0; attempt < PORT_ATTEMPTS; attempt++) {
    const port = PORT_RANGE.from + Math.floor(Math.random() * (PORT_RANGE.to - PORT_RANGE.from));
    if (await canListen(port)) return port;
  }
  throw new Error(`No free loopback port between ${PORT_RANGE.from} and ${PORT_RANGE.to} after ${PORT_ATTEMPTS} tries`);
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, HOST, () => probe.close(() => resolve(true)));
  });
}

function tableMainPath(): string {
  return join(dirname(require.resolve('azurite/package.json')), 'dist', 'src', 'table', 'main.js');
}

// The child runs Azurite's table main under a stdin watchdog: when the parent dies by any means
// (even SIGKILL), the pipe closes and the child exits, so no orphan keeps the port.
const WATCHDOG = [
  "process.stdin.on('end', () => process.exit(0)).on('error', () => process.exit(0)).resume();",
  'require(process.env.AZURITE_TABLE_MAIN);',
].join('');

export async function startAzuriteTable(options: AzuriteTableOptions = {}): Promise<AzuriteTable> {
  const port = options.port || (await findFreePort());
  const args = [
    '--tableHost', HOST,
    '--tablePort', String(port),
    '--inMemoryPersistence',
    '--silent',
    '--disableTelemetry',
    '--skipApiVersionCheck',
  ];
  // `--` then a placeholder: Azurite's argument parser skips argv[0..1] as node and script.
  const child = spawn(process.execPath, ['-e', WATCHDOG, '--', 'azurite-table', ...args], {
    cwd: tmpdir(), // in-memory, but Azurite still checks its workspace folder is writable
    env: { ...process.env, AZURITE_TABLE_MAIN: tableMainPath() },
    stdio: ['pipe', 'pipe', 'pipe'],
    windowsHide: true,
  });
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-OUTPUT_TAIL_CHARS);
  });
  // Its own "started" line tells that the port is Azurite's, not some other listener's.
  let stdout = '';
  const announced = (): boolean => stdout.includes('successfully started');
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    stdout = (stdout + chunk).slice(-OUTPUT_TAIL_CHARS);
  });
  // Unreferenced: a parent that forgets close() still exits, and its exit hook kills the child.
  child.unref();
  (child.stdin as Socket | null)?.unref();
  (child.stderr as Socket | null)?.unref();
  (child.stdout as Socket | null)?.unref();
  const detach = killWithParent(child);
  const stop = (): Promise<void> => stopChild(child).finally(detach);

  try {
    await waitForPort(child, port, announced, options.startTimeoutMs ?? 60000);
  } catch (err) {
    await stop();
    const tail = stderr.trim();
    throw new Error(`Azurite Table did not start on ${HOST}:${port}: ${(err as Error).message}${tail ? `\n${tail}` : ''}`);
  }
  const tableEndpoint = `http://${HOST}:${port}/${DEV_ACCOUNT_NAME}`;
  let closing: Promise<void> | undefined;
  return {
    port,
    tableEndpoint,
    connectionString: azuriteTableConnectionString(tableEndpoint),
    close: () => (closing ??= stop()),
  };
}

/** Polls until the child has announced itself and its port accepts a TCP connection, it exits, or the deadline passes. */
async function waitForPort(child: ChildProcess, port: number, announced: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`the process exited (${child.exitCode ?? child.signalCode})`);
    }
    if (announced() && (await canConnect(port))) return;
    await new Promise((r) => setTimeout(r, POLL_INTERVAL_MS));
  }
  throw new Error(`no answer within ${timeoutMs} ms`);
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: HOST, port });
    socket.setTimeout(1000);
    const finish = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.once('connect', () => finish(true));
    socket.once('error', () => finish(false));
    socket.once('timeout', () => finish(false));
  });
}

/** SIGTERM, then SIGKILL if it lingers; resolves when the child is gone. */
function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/**
 * Kills the child when this process exits or is interrupted. A signal listener replaces Node's
 * default of exiting, so when ours is the only one the signal is re-raised after cleanup.
 */
function killWithParent(child: ChildProcess): () => void {
  const onExit = (): void => {
    child.kill('SIGKILL');
  };
  const onSignal = (signal: NodeJS.Signals): void => {
    child.kill('SIGKILL');
    detach();
    if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
  };
  const detach = (): void => {
    process.off('exit', onExit);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  };
  process.once('exit', onExit);
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  return detach;
}
