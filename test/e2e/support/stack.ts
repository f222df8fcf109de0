import { spawn, type ChildProcess } from 'node:child_process';
import { findFreePort } from '../../../dev/azurite';
import { REPO_ROOT } from './paths';

/**
 * `npm start`'s local stack as a child process: `node dist/dev/start.js` (built by the global
 * setup, as `npm start` builds it) on a free port, with only the embedded defaults.
 */
export interface NpmStartStack {
  readonly appUrl: string;
  /** Everything the stack printed so far (for a failure message). */
  output(): string;
  stop(): Promise<void>;
}

const READY_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 5_000;
/** Settings that would replace an embedded default: the tests want the dev provider, demo API and Azurite. */
const REAL_SETTING = /^(AzureAd__|DownstreamApis__|TokenCache__|Session__|AzureWebJobsStorage)/;

function stackEnvironment(port: number, extra: Record<string, string>): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !REAL_SETTING.test(name)));
  return { ...env, PORT: String(port), ...extra };
}

function waitForExit(child: ChildProcess, timeoutMs: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), timeoutMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

export async function startNpmStack(options: { env?: Record<string, string> } = {}): Promise<NpmStartStack> {
  const port = await findFreePort();
  const appUrl = `http://localhost:${port}`;
  const ready = `Open ${appUrl}/api/`;
  const child = spawn(process.execPath, ['--enable-source-maps', 'dist/dev/start.js'], {
    cwd: REPO_ROOT,
    env: stackEnvironment(port, options.env ?? {}),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const stop = async (): Promise<void> => {
    child.kill('SIGTERM');
    if (!(await waitForExit(child, STOP_TIMEOUT_MS))) {
      child.kill('SIGKILL');
      await waitForExit(child, STOP_TIMEOUT_MS);
    }
  };

  await new Promise<void>((resolve, reject) => {
    const fail = (why: string) => {
      clearTimeout(timer);
      reject(new Error(`npm start stack ${why}. Its output:\n${output}`));
    };
    const timer = setTimeout(() => fail(`printed no "${ready}" within ${READY_TIMEOUT_MS / 1000} s`), READY_TIMEOUT_MS);
    const onData = (chunk: Buffer) => {
      output += chunk.toString('utf8');
      if (output.includes(ready)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code, signal) => fail(`exited (${signal ?? code}) before it was ready`));
    child.once('error', (error) => fail(`could not start: ${error.message}`));
  }).catch(async (error: unknown) => {
    await stop();
    throw error;
  });
  return { appUrl, output: () => output, stop };
}
