import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { azuriteTableConnectionString, findFreePort, startAzuriteTable, type AzuriteTable } from '../../../dev/azurite';
import { createDevCertificates, trustCertificateAuthority } from '../../../dev/tls';
import { startDevIdentityProvider, type DevIdentityProvider } from '../../../dev/idp';
import { startDemoApi, type DemoApi } from '../../../dev/demoApi';
import { DEMO_API_AUDIENCE, DEMO_API_SCOPE } from '../../../dev/stack';
import { runtimeSource, type RuntimeSource } from '../../../shared/runtime';
import { startFaultProxy, type FaultMode, type FaultProxy } from '../../support/faultProxy';
import { KEY_VAULT_RESOURCE, startKeyVaultServer, type KeyVaultServer } from '../../support/keyVaultServer';
import { startManagedIdentityServer, type ManagedIdentity, type ManagedIdentityServer } from '../../support/managedIdentityServer';
import { cacheTable, type CacheStack } from '../../support/cacheRows';
import { startAppProcess, type AppProcess } from './appProcess';

/**
 * The fault suite's world: one Azurite Table, one HTTPS dev provider, the demo API, a loopback
 * Key Vault and managed identity endpoint, all in the test process; app processes (`npm start`'s
 * bundle, each a real process) reach every one of them through a fault proxy the test controls.
 *
 * The provider sits behind one proxy that every process shares: its issuer names the proxy's port,
 * and the issuer is one for all instances. The Table, the API, Key Vault and the identity endpoint
 * each have a proxy per process, so one instance can lose a dependency while the other keeps it.
 */
export const API_TIMEOUT_SECONDS = 2;
const CLIENT_ID = 'fault-suite-client';

export interface ProcessProxies {
  readonly table: FaultProxy;
  readonly api: FaultProxy;
  readonly keyVault?: FaultProxy;
  readonly identity?: FaultProxy;
}

export interface FaultApp extends AppProcess {
  readonly proxies: ProcessProxies;
}

export interface AppOptions {
  /** Where the client credential comes from: app settings, or Key Vault read with the managed identity. */
  readonly credential?: 'secret' | 'keyVault';
  /** Faults already on when the process starts. */
  readonly faults?: Partial<Record<keyof ProcessProxies, FaultMode>>;
}

export interface FaultStack {
  readonly azurite: AzuriteTable;
  readonly idp: DevIdentityProvider;
  /** The provider's one proxy (discovery, JWKS, token endpoint). */
  readonly provider: FaultProxy;
  readonly demoApi: DemoApi;
  /** The Table and the row cipher as the app processes have them, for looking at and tampering with rows. */
  readonly rows: CacheStack;
  /** Starts one more app process (named in the redirect URIs registered at start). */
  startApp(name: string, options?: AppOptions): Promise<FaultApp>;
  close(): Promise<void>;
}

/** What a loaded 2-core machine may add to a timeout before the answer is out. */
export const MARGIN_MS = 5_000;
/** The two users the suites sign in, one per app process. */
export const ADA = 'ada@contoso.dev';
export const GRACE = 'grace@contoso.dev';

/** A stack with the two app processes "a" and "b" started (more names may be started later). */
export async function startTwoApps(options: { moreAppNames?: readonly string[]; singleUseRefreshTokens?: boolean } = {}): Promise<{ stack: FaultStack; a: FaultApp; b: FaultApp }> {
  const stack = await startFaultStack({ appNames: ['a', 'b', ...(options.moreAppNames ?? [])], ...(options.singleUseRefreshTokens ? { singleUseRefreshTokens: true } : {}) });
  try {
    const [a, b] = await Promise.all([stack.startApp('a'), stack.startApp('b')]);
    return { stack, a, b };
  } catch (error) {
    await stack.close();
    throw error;
  }
}

export async function startFaultStack(options: { appNames: readonly string[]; singleUseRefreshTokens?: boolean }): Promise<FaultStack> {
  const closers: (() => Promise<void>)[] = [];
  const apps: FaultApp[] = [];
  const close = async () => {
    // The app processes first (killed and awaited), then what they talked to.
    await Promise.all(apps.map((app) => app.stop()));
    for (const c of closers.reverse()) await c().catch(() => {});
  };
  try {
    const dir = mkdtempSync(join(tmpdir(), 'faults-'));
    closers.push(async () => rmSync(dir, { recursive: true, force: true }));
    const tls = createDevCertificates();
    trustCertificateAuthority(tls.caCertPem);
    // The app processes trust the run's CA as the test process does (a file: Node reads it at start).
    const caFile = join(dir, 'ca.pem');
    writeFileSync(caFile, tls.caCertPem);

    const azurite = await startAzuriteTable();
    closers.push(() => azurite.close());

    // The proxy starts first: the provider names the proxy's port as its own.
    let idpPort = 0;
    const provider = await startFaultProxy(() => idpPort, 'https');
    closers.push(() => provider.close());
    const ports = new Map<string, number>();
    for (const name of options.appNames) ports.set(name, await findFreePort());
    const clientSecret = randomBytes(24).toString('base64url');
    const idp = await startDevIdentityProvider({
      tls,
      publicPort: provider.port,
      clients: [{ clientId: CLIENT_ID, clientSecret, redirectUris: [...ports.values()].map((port) => `http://localhost:${port}/api/redirect`), displayName: 'Fault suite' }],
      apis: [{ audience: DEMO_API_AUDIENCE, scopes: [DEMO_API_SCOPE] }],
      singleUseRefreshTokens: options.singleUseRefreshTokens,
    });
    idpPort = idp.port;
    closers.push(() => idp.close());
    // The demo API reads the provider's keys directly, not through the proxy the test breaks.
    const demoApi = await startDemoApi({ tls, issuer: `https://127.0.0.1:${idp.port}`, issuers: [idp.issuer], audience: DEMO_API_AUDIENCE, requiredScope: 'Data.Read' });
    closers.push(() => demoApi.close());
    const demoPort = Number(new URL(demoApi.url).port);

    // Key Vault holds the client secret; the app reads it with its managed identity (App Service's endpoint).
    const identity: ManagedIdentity = { clientId: randomUUID(), principalId: randomUUID() };
    const identityEndpoint: ManagedIdentityServer = await startManagedIdentityServer({ identities: [identity] });
    closers.push(() => identityEndpoint.close());
    const vault: KeyVaultServer = await startKeyVaultServer({ tls, authorize: async (token) => (await identityEndpoint.verify(token, KEY_VAULT_RESOURCE)) === identity.principalId });
    closers.push(() => vault.close());
    vault.setSecret('client-secret', clientSecret);
    const vaultPort = Number(new URL(vault.url).port);
    const identityUrl = new URL(identityEndpoint.endpoint);

    const base: Record<string, string> = {
      AzureAd__Authority: idp.issuer,
      AzureAd__ClientId: CLIENT_ID,
      Session__Keys: randomBytes(32).toString('base64url'),
      DownstreamApis__demo__Scopes: DEMO_API_SCOPE,
      DownstreamApis__demo__TimeoutSeconds: String(API_TIMEOUT_SECONDS),
      AZURE_FUNCTIONS_ENVIRONMENT: 'Development',
      NODE_EXTRA_CA_CERTS: caFile,
    };
    const secret = { AzureAd__ClientCredentials__0__SourceType: 'ClientSecret', AzureAd__ClientCredentials__0__ClientSecret: clientSecret };

    // The test's own view of the rows: the same settings, the Table reached directly.
    const direct: Record<string, string> = { ...base, ...secret, AzureAd__RedirectUri: 'http://localhost:1/api/redirect', DownstreamApis__demo__BaseUrl: demoApi.url, TokenCache__ConnectionString: azurite.connectionString };
    const rows: CacheStack = { settings: direct, runtime: runtimeSource(direct, { log: () => {} }) as RuntimeSource };
    await cacheTable(rows).createTable();

    const startApp = async (name: string, appOptions: AppOptions = {}): Promise<FaultApp> => {
      const port = ports.get(name);
      if (!port) throw new Error(`no redirect URI was registered for app ${name}`);
      const table = await startFaultProxy(azurite.port);
      closers.push(() => table.close());
      const api = await startFaultProxy(demoPort, 'https');
      closers.push(() => api.close());
      const settings: Record<string, string> = {
        ...base,
        AzureAd__RedirectUri: `http://localhost:${port}/api/redirect`,
        TokenCache__ConnectionString: azuriteTableConnectionString(`http://127.0.0.1:${table.port}/devstoreaccount1`),
        DownstreamApis__demo__BaseUrl: `${api.url}/`,
      };
      let proxies: ProcessProxies = { table, api };
      if (appOptions.credential === 'keyVault') {
        const keyVault = await startFaultProxy(vaultPort, 'https');
        closers.push(() => keyVault.close());
        const identityProxy = await startFaultProxy(Number(identityUrl.port));
        closers.push(() => identityProxy.close());
        proxies = { ...proxies, keyVault, identity: identityProxy };
        Object.assign(settings, {
          AzureAd__ClientCredentials__0__SourceType: 'KeyVault',
          AzureAd__ClientCredentials__0__KeyVaultUrl: `${keyVault.url}/`,
          AzureAd__ClientCredentials__0__KeyVaultSecretName: 'client-secret',
          // As App Service sets them for the app's managed identity; @azure/identity reads them.
          IDENTITY_ENDPOINT: `http://127.0.0.1:${identityProxy.port}${identityUrl.pathname}`,
          IDENTITY_HEADER: identityEndpoint.header,
        });
      } else {
        Object.assign(settings, secret);
      }
      for (const [proxy, mode] of Object.entries(appOptions.faults ?? {})) proxies[proxy as keyof ProcessProxies]!.mode = mode;
      const app = await startAppProcess(name, port, settings);
      const faultApp: FaultApp = { ...app, proxies };
      apps.push(faultApp);
      return faultApp;
    };

    return { azurite, idp, provider, demoApi, rows, startApp, close };
  } catch (error) {
    await close();
    throw error;
  }
}
