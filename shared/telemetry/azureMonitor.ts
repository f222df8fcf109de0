import { shutdownAzureMonitor, useAzureMonitor } from '@azure/monitor-opentelemetry';
import { ManagedIdentityCredential } from '@azure/identity';
import type { TokenCredential } from '@azure/core-auth';
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, TraceFlags, metrics, trace, type Context } from '@opentelemetry/api';
import type { DependencyObservation } from '../observe';
import type { LogListener, LogRecord } from '../log';

/**
 * Application Insights through the Azure Monitor OpenTelemetry distribution, authenticated with
 * Entra ID (the workspace has local auth off). Built into a bundle of its own (telemetry.js)
 * and loaded only when a connection string is configured, after start-up, so a cold start does
 * not parse it.
 *
 * The app is one bundled file, so require-hook instrumentation would see little of it: the
 * dependency spans come from the same diagnostics-channel observations as the log lines, and
 * the metrics from the same log records. HTTP auto-instrumentation is off to avoid counting
 * twice; the Functions host reports the incoming requests itself.
 */
export interface AzureMonitorOptions {
  readonly connectionString: string;
  /** The user-assigned identity's client id (APPLICATIONINSIGHTS_AUTHENTICATION_STRING). */
  readonly managedIdentityClientId?: string | undefined;
  /** Tests: a credential for a loopback ingestion endpoint. */
  readonly credential?: TokenCredential;
  /** Tests: how often metrics are exported (default 60 s). */
  readonly metricExportIntervalMs?: number;
}

export interface TelemetrySources {
  readonly addLogListener: (listener: LogListener) => () => void;
  readonly addDependencyObserver: (observer: (observation: DependencyObservation) => void) => () => void;
}

export interface RunningTelemetry {
  flush(): Promise<void>;
  shutdown(): Promise<void>;
}

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/** The request's trace as the parent of its dependency spans (the host's request telemetry). */
function parentContext(traceparent: string | undefined): Context {
  const match = traceparent ? TRACEPARENT.exec(traceparent) : null;
  if (!match) return ROOT_CONTEXT;
  return trace.setSpanContext(ROOT_CONTEXT, { traceId: match[1]!, spanId: match[2]!, traceFlags: parseInt(match[3]!, 16) & TraceFlags.SAMPLED, isRemote: true });
}

export function startAzureMonitor(options: AzureMonitorOptions, sources: TelemetrySources): RunningTelemetry {
  if (options.metricExportIntervalMs) process.env['OTEL_METRIC_EXPORT_INTERVAL'] = String(options.metricExportIntervalMs);
  useAzureMonitor({
    azureMonitorExporterOptions: {
      connectionString: options.connectionString,
      credential: options.credential ?? new ManagedIdentityCredential(options.managedIdentityClientId ? { clientId: options.managedIdentityClientId } : {}),
    },
    instrumentationOptions: { http: { enabled: false }, azureSdk: { enabled: false } },
    enableLiveMetrics: false,
    // Every dependency span of a failed request matters more than a rate limit saves here.
    tracesPerSecond: 0,
    samplingRatio: 1,
  });

  const tracer = trace.getTracer('token-handler');
  const meter = metrics.getMeter('token-handler');
  const proxiedCalls = meter.createCounter('tokenhandler.proxied_calls', { description: 'Calls through /api/proxy, by status class' });
  const refreshes = meter.createCounter('tokenhandler.refreshes', { description: 'Access tokens refreshed with a refresh token, by outcome' });
  const cacheReads = meter.createCounter('tokenhandler.cache_row_reads', { description: 'Token cache row reads (Table point reads)' });
  const cacheWrites = meter.createCounter('tokenhandler.cache_row_writes', { description: 'Token cache row writes and deletes' });
  const conflicts = meter.createCounter('tokenhandler.cache_conflicts', { description: 'Conditional writes that lost to a concurrent one (412)' });
  const signInRequired = meter.createCounter('tokenhandler.sign_in_required', { description: '401 answers carrying loginUrl (sign-in, consent or claims needed), by code' });

  const onRecord = (record: LogRecord): void => {
    if (record.kind === 'event') {
      if (record.event === 'refresh') refreshes.add(1, { outcome: record.fields.outcome ?? 'success' });
      return;
    }
    if (record.scope.functionName === 'proxy') proxiedCalls.add(1, { status_class: `${Math.floor(record.status / 100)}xx`, token: record.scope.tokenOutcome ?? 'none' });
    if (record.status === 401 && record.code) signInRequired.add(1, { code: record.code, function: record.scope.functionName });
  };

  const onDependency = (observation: DependencyObservation): void => {
    // Outside a request, only the app's own services (start-up reads), not token plumbing.
    if (!observation.traceparent && (observation.name === 'http' || observation.name === 'identity')) return;
    const span = tracer.startSpan(
      `${observation.method} ${observation.name}`,
      {
        kind: SpanKind.CLIENT,
        startTime: observation.startTime,
        attributes: {
          'http.request.method': observation.method,
          'server.address': new URL(observation.origin).hostname,
          'url.full': observation.origin,
          'tokenhandler.dependency': observation.name,
          ...(observation.status !== undefined ? { 'http.response.status_code': observation.status } : {}),
        },
      },
      parentContext(observation.traceparent),
    );
    if (observation.status === undefined || observation.status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
    span.end(observation.startTime + observation.durationMs);
    if (observation.name === 'table') {
      if (observation.status === 412) conflicts.add(1);
      else if (observation.method === 'GET') cacheReads.add(1);
      else cacheWrites.add(1, { method: observation.method });
    }
  };

  const removeListener = sources.addLogListener(onRecord);
  const removeObserver = sources.addDependencyObserver(onDependency);
  return {
    async flush() {
      const provider = trace.getTracerProvider() as unknown as { getDelegate?: () => { forceFlush?: () => Promise<void> } };
      await provider.getDelegate?.().forceFlush?.();
      const meterProvider = metrics.getMeterProvider() as unknown as { forceFlush?: () => Promise<void> };
      await meterProvider.forceFlush?.();
    },
    async shutdown() {
      removeListener();
      removeObserver();
      await shutdownAzureMonitor();
    },
  };
}
