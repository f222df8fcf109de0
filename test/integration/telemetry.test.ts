import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { createDevCertificates, trustCertificateAuthority } from '../../dev/tls';
import { loadConfig } from '../../shared/config';
import { addLogListener, logEvent, runLoggedRequest } from '../../shared/log';
import { addDependencyObserver, nameDependencyOrigins, observeDependencies } from '../../shared/observe';
import { startAzureMonitor, type RunningTelemetry } from '../../shared/telemetry/azureMonitor';
import { staticTokenCredential } from '../support/keyVaultServer';
import { Signal } from '../support/signal';

/**
 * Application Insights through the real Azure Monitor distribution and exporter, against an
 * ingestion endpoint on loopback (HTTPS, the Breeze `v2.1/track` route): dependency spans under
 * the request's trace, the app's metrics, and Entra ID authentication (local auth is off in Azure).
 */
interface Envelope {
  name: string;
  iKey: string;
  tags: Record<string, string>;
  data: { baseType: string; baseData: Record<string, unknown> & { metrics?: { name: string; value: number }[]; properties?: Record<string, string> } };
}

let ingestion: Server;
let downstream: Server;
let ingestionUrl: string;
let downstreamUrl: string;
const envelopes: Envelope[] = [];
const arrived = new Signal();
const authorizations: string[] = [];
let telemetry: RunningTelemetry;
const credential = staticTokenCredential('monitor-token-0123456789');

beforeAll(async () => {
  const tls = createDevCertificates();
  trustCertificateAuthority(tls.caCertPem);
  ingestion = createServer({ cert: tls.certPem, key: tls.keyPem }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const text = (req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw).toString('utf8');
      if (req.url?.startsWith('/v2.1/track')) {
        authorizations.push(String(req.headers.authorization ?? ''));
        const items = (text.trim().startsWith('[') ? JSON.parse(text) : text.split('\n').filter(Boolean).map((line) => JSON.parse(line))) as Envelope[];
        envelopes.push(...items);
        arrived.notify();
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ itemsReceived: items.length, itemsAccepted: items.length, errors: [] }));
      } else {
        res.writeHead(404).end();
      }
    });
  });
  downstream = createServer({ cert: tls.certPem, key: tls.keyPem }, (req, res) => {
    res.writeHead(req.url === '/fail' ? 503 : 200, { 'content-type': 'application/json' }).end('{}');
  });
  await Promise.all([ingestion, downstream].map((server) => new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))));
  ingestionUrl = `https://127.0.0.1:${(ingestion.address() as AddressInfo).port}/`;
  downstreamUrl = `https://127.0.0.1:${(downstream.address() as AddressInfo).port}`;
  observeDependencies();
  nameDependencyOrigins({ [downstreamUrl]: 'api' });
  telemetry = startAzureMonitor(
    { connectionString: `InstrumentationKey=00000000-0000-0000-0000-000000000001;IngestionEndpoint=${ingestionUrl}`, credential, metricExportIntervalMs: 1000 },
    { addLogListener, addDependencyObserver },
  );
});

afterAll(async () => {
  await telemetry?.shutdown();
  await Promise.all([ingestion, downstream].map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
});

/**
 * Waits for envelopes (the exporter batches): after each flush, until the next batch arrives
 * (metrics are exported every second, so one always does). Bounded in batches, not in time.
 */
async function received(predicate: (all: Envelope[]) => boolean, what: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (predicate(envelopes)) return;
    const count = envelopes.length;
    await telemetry.flush();
    await arrived.until(() => envelopes.length > count);
  }
  throw new Error(`no ${what} arrived; got ${envelopes.map((e) => e.data.baseType).join(', ')}`);
}

test('dependency spans under the request trace, the app metrics, sent with an Entra token', async () => {
  const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
  await runLoggedRequest(
    { invocationId: 'inv-1', traceparent: `00-${traceId}-00f067aa0ba902b7-01`, functionName: 'proxy', route: 'proxy/{api}/{*path}', method: 'GET', write: () => {} },
    async () => {
      await (await fetch(`${downstreamUrl}/ok`)).text();
      await (await fetch(`${downstreamUrl}/fail`)).text();
      logEvent('refresh', { outcome: 'success' });
      return { status: 200 };
    },
    (r) => r,
  );
  await runLoggedRequest({ invocationId: 'inv-2', functionName: 'proxy', route: 'proxy/{api}/{*path}', method: 'GET', write: () => {} }, async () => ({ status: 401, code: 'not_signed_in' }), (r) => r);

  await received((all) => all.filter((e) => e.data.baseType === 'RemoteDependencyData').length >= 2, 'dependency spans');
  const dependencies = envelopes.filter((e) => e.data.baseType === 'RemoteDependencyData');
  expect(dependencies.map((d) => [d.data.baseData.properties?.['tokenhandler.dependency'], d.data.baseData['type'], d.data.baseData['target'], d.data.baseData['resultCode'], d.data.baseData['success']]).sort()).toEqual([
    ['api', 'Http', '127.0.0.1', '200', true],
    ['api', 'Http', '127.0.0.1', '503', false],
  ]);
  // Children of the request's trace (the host's request telemetry), not traces of their own.
  for (const d of dependencies) {
    expect(d.tags['ai.operation.id']).toBe(traceId);
    expect(d.tags['ai.operation.parentId']).toBe('00f067aa0ba902b7');
    // The target, never the path or query.
    expect(JSON.stringify(d.data.baseData)).not.toMatch(/\/ok|\/fail/);
  }

  await received((all) => ['tokenhandler.proxied_calls', 'tokenhandler.refreshes', 'tokenhandler.sign_in_required'].every((name) => all.some((e) => e.data.baseData.metrics?.some((m) => m.name === name))), 'app metrics');
  const metric = (name: string) => envelopes.flatMap((e) => (e.data.baseData.metrics ?? []).filter((m) => m.name === name).map((m) => ({ value: m.value, properties: e.data.baseData.properties })));
  expect(metric('tokenhandler.proxied_calls').reduce((sum, m) => sum + m.value, 0)).toBeGreaterThanOrEqual(2);
  expect(metric('tokenhandler.refreshes')[0]?.properties).toMatchObject({ outcome: 'success' });
  expect(metric('tokenhandler.sign_in_required')[0]?.properties).toMatchObject({ code: 'not_signed_in', function: 'proxy' });

  expect(authorizations.length).toBeGreaterThan(0);
  expect(authorizations.every((a) => a === 'Bearer monitor-token-0123456789')).toBe(true);
  expect(credential.scopes).toContain('https://monitor.azure.com/.default');
});

describe('configuration', () => {
  const base = { AzureAd__Authority: 'https://login.contoso.dev/tenant/v2.0', AzureAd__ClientId: 'app', AzureAd__ClientCredentials__0__SourceType: 'ClientSecret', AzureAd__ClientCredentials__0__ClientSecret: 'local-dev-secret-value', AzureAd__RedirectUri: 'https://app.contoso.dev/api/redirect', AzureAd__PostLogoutRedirectUri: 'https://app.contoso.dev/api/', TokenCache__ConnectionString: 'UseDevelopmentStorage=true', Session__Keys: 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', AZURE_FUNCTIONS_ENVIRONMENT: 'Development' };

  test('off unless APPLICATIONINSIGHTS_CONNECTION_STRING is set', () => {
    expect(loadConfig(base).telemetry).toBeUndefined();
  });

  test('on with the connection string, authenticated as the identity the authentication string names', () => {
    const config = loadConfig({ ...base, APPLICATIONINSIGHTS_CONNECTION_STRING: 'InstrumentationKey=k;IngestionEndpoint=https://westeurope-5.in.applicationinsights.azure.com/', APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=1111-2222;Authorization=AAD' });
    expect(config.telemetry).toEqual({ connectionString: 'InstrumentationKey=k;IngestionEndpoint=https://westeurope-5.in.applicationinsights.azure.com/', managedIdentityClientId: '1111-2222' });
  });

  test('a value that is not a connection string names the setting', () => {
    expect(() => loadConfig({ ...base, APPLICATIONINSIGHTS_CONNECTION_STRING: 'https://example' })).toThrow(/APPLICATIONINSIGHTS_CONNECTION_STRING/);
  });
});
