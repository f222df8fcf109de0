import { join } from 'node:path';
import type { TelemetryConfig } from '../config';
import { describeForLog } from '../errors';
import { addLogListener } from '../log';
import { addDependencyObserver } from '../observe';
import type * as AzureMonitor from './azureMonitor';

/**
 * Starts Application Insights (./azureMonitor.ts) when it is configured, once per process, and
 * only after the first request has been answered: a cold start neither loads nor parses the
 * OpenTelemetry code. Without APPLICATIONINSIGHTS_CONNECTION_STRING (locally, by default)
 * nothing is loaded at all.
 */

// Set by scripts/build.mjs: the esbuild bundles load the telemetry bundle that sits beside them.
declare const TELEMETRY_BUNDLE: string | undefined;

// One Azure Monitor SDK per process: OpenTelemetry's tracer and meter providers are global.
let started: 'waiting for a request' | Promise<AzureMonitor.RunningTelemetry | undefined> | undefined;

export function startTelemetryAfterFirstRequest(config: TelemetryConfig | undefined, log: (line: string) => void): void {
  if (!config || started) return;
  started = 'waiting for a request';
  const stop = addLogListener((record) => {
    if (record.kind !== 'request') return;
    stop();
    started = new Promise<void>((resolve) => setImmediate(resolve))
      .then(() => loadAzureMonitor().startAzureMonitor(config, { addLogListener, addDependencyObserver }))
      .catch((error: unknown) => {
        log(`telemetry: Application Insights not started: ${describeForLog(error)}`);
        return undefined;
      });
  });
}

function loadAzureMonitor(): typeof AzureMonitor {
  const path = typeof TELEMETRY_BUNDLE === 'string' ? join(__dirname, TELEMETRY_BUNDLE) : join(__dirname, 'azureMonitor');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require(path) as typeof AzureMonitor;
}
