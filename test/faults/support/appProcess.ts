import { spawn, type ChildProcess } from 'node:child_process';
import { APP_ENTRY, REPO_ROOT } from './paths';

/**
 * One app process: `npm start`'s bundle (`dist/dev/start.js`, built for this suite) run by the
 * project's Node as a separate process, with the settings given as its environment, as a
 * Functions instance would get them. Its log lines are kept so the test can count what it did.
 */
export interface AppProcess {
  readonly name: string;
  readonly url: string;
  /** Its request log lines (JSON), in order. */
  requests(): RequestLine[];
  /** Everything it printed (for a failure message). */
  output(): string;
  /** Resolves when the process has exited. */
  readonly exited: Promise<void>;
  /** SIGKILL, as a crashed or recycled instance: nothing runs after it. */
  kill(): Promise<void>;
  /** SIGTERM, then SIGKILL when it does not stop in time. */
  stop(): Promise<void>;
}

export interface RequestLine {
  readonly type: 'request';
  readonly function: string;
  readonly status: number;
  readonly code?: string;
  readonly token?: string;
  readonly dependencies: Record<string, { calls: number; failures: number }>;
}

const READY_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 5_000;
/** Settings of the machine's environment that would change what the app talks to. */
const APP_SETTING = /^(AzureAd__|DownstreamApis__|TokenCache__|Session__|AzureWebJobsStorage|IDENTITY_|MSI_|AZURE_|NODE_EXTRA_CA_CERTS$)/;
// As dev/azurite.ts does for its child: when the test process dies by any means (even SIGKILL), the
// pipe to the child's stdin closes and the child exits, so no app process outlives the run.
const WATCHDOG = "process.stdin.on('end', () => process.exit(0)).on('error', () => process.exit(0)).resume(); require(process.env.FAULT_APP_ENTRY);";

export async function startAppProcess(name: string, port: number, settings: Record<string, string>): Promise<AppProcess> {
  const url = `http://localhost:${port}`;
  const ready = `Open ${url}/api/`;
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([key]) => !APP_SETTING.test(key)));
  const child: ChildProcess = spawn(process.execPath, ['--enable-source-maps', '-e', WATCHDOG], {
    cwd: REPO_ROOT,
    env: { ...inherited, ...settings, PORT: String(port), FAULT_APP_ENTRY: APP_ENTRY },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let output = '';
  let pending = '';
  const requests: RequestLine[] = [];
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
  const onData = (chunk: Buffer) => {
    const text = chunk.toString('utf8');
    output = (output + text).slice(-200_000);
    pending += text;
    const lines = pending.split('\n');
    pending = lines.pop()!;
    for (const line of lines) {
      // The local host writes the invocation's log as `[function] level: {json}`.
      const at = line.indexOf('{"time"');
      if (at < 0) continue;
      try {
        const record = JSON.parse(line.slice(at)) as { type?: string };
        if (record.type === 'request') requests.push(record as RequestLine);
      } catch {
        // Not a log record.
      }
    }
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);

  const bounded = (ms: number) => Promise.race([exited.then(() => true), new Promise<boolean>((resolve) => setTimeout(() => resolve(false), ms).unref())]);
  const kill = async () => {
    child.kill('SIGKILL');
    await exited;
  };
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    if (!(await bounded(STOP_TIMEOUT_MS))) await kill();
  };

  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`app process ${name} printed no "${ready}" within ${READY_TIMEOUT_MS / 1000} s:\n${output}`)), READY_TIMEOUT_MS);
    const check = () => {
      if (output.includes(ready)) {
        clearTimeout(timer);
        child.stdout!.off('data', check);
        resolve();
      }
    };
    child.stdout!.on('data', check);
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`app process ${name} exited before it was ready:\n${output}`));
    });
  }).catch(async (error: unknown) => {
    await stop();
    throw error;
  });
  return { name, url, requests: () => [...requests], output: () => output, exited, kill, stop };
}
