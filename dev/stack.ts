import { randomBytes } from 'node:crypto';
import type { Settings } from '../shared/config';
import { runtimeSource, type RuntimeOptions, type RuntimeSource } from '../shared/runtime';
import { loadClientSecret, type CredentialLoader } from '../shared/credentials/clientCredential';
import { APP_SETUP, createHttpFunctions } from '../functions/app';
import { observeDependencies } from '../shared/observe';
import { createTimerFunctions } from '../functions/app';
import { startTimers, type LocalTimers } from './timers';
import { startLocalFunctionsHost, type LocalFunctionsHost } from './host';
import { findFreePort, startAzuriteTable, type AzuriteTable } from './azurite';
import { createDevCertificates, trustCertificateAuthority } from './tls';
import { startDevIdentityProvider, type DevApi, type DevClient, type DevIdentityProvider, type DevUser } from './idp';
import { startDemoApi, type DemoApi } from './demoApi';
import { GRAPH_RESOURCE, GRAPH_USER_READ, startGraphStandIn, type GraphStandIn } from './graphApi';
import { acceptedIssuers, authoritySettings, type DevAuthorityShape } from './authorityShapes';

/**
 * The local stack behind `npm start` (and the integration tests): the function app on the
 * local host, plus an embedded default for every part the settings do not name: Azurite's
 * Table service, a dev OpenID provider over HTTPS, a demo downstream API, session keys.
 */
export interface LocalStackOptions {
  readonly settings: Settings;
  /** 0 picks a free port. */
  readonly port?: number;
  readonly log?: (line: string) => void;
  /**
   * Dev provider knobs for tests. `client` changes how the dev app registration authenticates
   * (its secret(s), a certificate, a federated managed identity); pair it with
   * `AzureAd__ClientCredentials__*` settings, which then replace the generated client secret.
   */
  readonly idp?: {
    readonly consentRequired?: boolean;
    /** The provider's RFC 7009 revocation endpoint (default on; off behaves as Entra). */
    readonly revocation?: boolean;
    readonly singleUseRefreshTokens?: boolean;
    readonly accessTokenLifetimeSeconds?: number;
    readonly users?: DevUser[];
    readonly extraApis?: DevApi[];
    /** A Conditional Access authentication context (`c1`) the demo API's tokens need: on-behalf-of exchanges without it get a claims challenge. */
    readonly demoApiAuthContext?: string;
    readonly client?: Partial<Pick<DevClient, 'clientSecret' | 'certificatePem' | 'federatedIssuer'>>;
    /** Which authority shape the app is configured with (default: the provider's plain OIDC issuer). */
    readonly authority?: DevAuthorityShape;
  };
  /** Serve the Microsoft Graph stand-in and configure the `graph` API for it (needs the dev provider). */
  readonly graph?: boolean;
  /** Also configure the demo API as `demoapp`, called with the app's own identity (client credentials). */
  readonly appIdentityApi?: boolean;
  /**
   * On-behalf-of end to end: a downstream API `obo` that is the app's own `/api/obo/demo/` route,
   * so the proxy gets the user a token for the app's own API and `obo` exchanges it for the demo API's.
   */
  readonly obo?: boolean;
  readonly runtime?: RuntimeOptions;
}

export interface LocalStack {
  readonly appUrl: string;
  readonly settings: Settings;
  readonly embedded: readonly string[];
  readonly host: LocalFunctionsHost;
  /** The stack's own runtime (each stack has one: two stacks in one process never share it). */
  readonly runtime: RuntimeSource;
  /**
   * A redeployment: the functions get a new runtime built from these settings (default: the
   * stack's), while the host keeps serving. Session keys stay unless the settings change them.
   */
  restartRuntime(settings?: Settings): void;
  readonly timers: LocalTimers;
  /** Another app instance on the same settings, Table and provider, with its own runtime (as a second Functions instance); closed with the stack. */
  startInstance(): Promise<LocalFunctionsHost>;
  readonly idp?: DevIdentityProvider;
  readonly demoApi?: DemoApi;
  readonly graph?: GraphStandIn;
  readonly azurite?: AzuriteTable;
  readonly devClient?: { readonly clientId: string; readonly clientSecret: string };
  /** The dev CA the provider's and demo API's certificates chain to, when the stack made them (another process trusts it to reach them). */
  readonly caCertPem?: string;
  close(): Promise<void>;
}

export const DEMO_API_AUDIENCE = 'api://demo-api';
export const DEMO_API_SCOPE = `${DEMO_API_AUDIENCE}/Data.Read`;
export const DEV_CLIENT_ID = 'local-dev-client';
/** The app's own API, as "Expose an API" registers it: App ID URI `api://<client id>`, scope `access_as_user`. */
export const OWN_API_AUDIENCE = `api://${DEV_CLIENT_ID}`;
export const OWN_API_SCOPE = `${OWN_API_AUDIENCE}/access_as_user`;

function has(settings: Settings, ...names: string[]): boolean {
  return names.some((n) => settings[n] !== undefined && settings[n] !== '');
}

function hasPrefix(settings: Settings, prefix: string): boolean {
  return Object.keys(settings).some((k) => k.startsWith(prefix) && settings[k]);
}

/** The start-up log says what the stack made up, rather than a secret "from app settings" the user never set. */
const generatedSecretLoader: CredentialLoader = async (source) => ({
  ...(await loadClientSecret(source)),
  description: 'a client secret the local stack generated for this run and registered with its dev provider',
});

export async function startLocalStack(options: LocalStackOptions): Promise<LocalStack> {
  // As functions/index.ts does under the Functions host: outgoing calls' latency for the request log lines.
  observeDependencies();
  const log = options.log ?? ((line: string) => console.log(line));
  const settings: Record<string, string | undefined> = { ...options.settings };
  const embedded: string[] = [];
  const closers: (() => Promise<void>)[] = [];
  const close = async () => {
    for (const c of closers.reverse()) await c().catch(() => {});
  };

  try {
    const port = options.port || (await findFreePort());
    // localhost, not 127.0.0.1: browsers treat it as a secure context, so __Host- cookies work over http.
    // One origin everywhere: the redirect URI's, when the settings name one. A sign-in must start
    // there, since the auth-request cookie is set where /api/login answers and read at the redirect URI.
    const redirectSetting = settings['AzureAd__RedirectUri'];
    const appUrl = redirectSetting && URL.canParse(redirectSetting) ? new URL(redirectSetting).origin : `http://localhost:${port}`;
    let idp: DevIdentityProvider | undefined;
    let demoApi: DemoApi | undefined;
    let graph: GraphStandIn | undefined;
    let azurite: AzuriteTable | undefined;
    let devClient: LocalStack['devClient'];
    let caCertPem: string | undefined;
    let generatedSecret = false;

    const wantsIdp = !has(settings, 'AzureAd__ClientId', 'AzureAd__Authority', 'AzureAd__TenantId');
    const wantsApi = wantsIdp && !hasPrefix(settings, 'DownstreamApis__');
    if (wantsIdp || wantsApi) {
      const tls = createDevCertificates();
      trustCertificateAuthority(tls.caCertPem);
      caCertPem = tls.caCertPem;
      const client: DevClient = {
        clientId: DEV_CLIENT_ID,
        clientSecret: randomBytes(24).toString('base64url'),
        redirectUris: [`${appUrl}/api/redirect`],
        postLogoutRedirectUris: [`${appUrl}/api/`, `${appUrl}/`],
        backchannelLogoutUri: `${appUrl}/api/logout/backchannel`,
        frontchannelLogoutUri: `${appUrl}/api/logout/frontchannel`,
        displayName: 'Local token handler',
        ...options.idp?.client,
      };
      const clientSecret = [client.clientSecret ?? []].flat()[0] ?? '';
      idp = await startDevIdentityProvider({
        tls,
        clients: [client],
        apis: [
          { audience: DEMO_API_AUDIENCE, scopes: [DEMO_API_SCOPE], ...(options.idp?.demoApiAuthContext ? { requiredAuthContext: options.idp.demoApiAuthContext } : {}) },
          { audience: GRAPH_RESOURCE, scopes: [`${GRAPH_RESOURCE}/${GRAPH_USER_READ}`] },
          { audience: OWN_API_AUDIENCE, scopes: [OWN_API_SCOPE], clientId: DEV_CLIENT_ID },
          ...(options.idp?.extraApis ?? []),
        ],
        consentRequired: options.idp?.consentRequired,
        revocation: options.idp?.revocation,
        singleUseRefreshTokens: options.idp?.singleUseRefreshTokens,
        accessTokenLifetimeSeconds: options.idp?.accessTokenLifetimeSeconds,
        users: options.idp?.users,
      });
      closers.push(() => idp!.close());
      devClient = { clientId: DEV_CLIENT_ID, clientSecret };
      Object.assign(settings, authoritySettings(idp.issuer, options.idp?.authority), { AzureAd__ClientId: DEV_CLIENT_ID });
      const issuers = acceptedIssuers(idp.issuer, options.idp?.users);
      // Credentials the settings name (Key Vault, managed identity) are kept; otherwise the generated secret.
      if (!hasPrefix(settings, 'AzureAd__ClientCredentials__') && !has(settings, 'AzureAd__ClientSecret')) {
        Object.assign(settings, { AzureAd__ClientCredentials__0__SourceType: 'ClientSecret', AzureAd__ClientCredentials__0__ClientSecret: clientSecret });
        generatedSecret = true;
      }
      embedded.push(`dev OpenID provider at ${idp.issuer} (its sign-in pages at ${idp.browserOrigin}, no certificate to trust)`);
      if (wantsApi) {
        demoApi = await startDemoApi({ tls, issuer: idp.issuer, issuers, audience: DEMO_API_AUDIENCE, requiredScope: 'Data.Read' });
        closers.push(() => demoApi!.close());
        Object.assign(settings, { DownstreamApis__demo__BaseUrl: demoApi.url, DownstreamApis__demo__Scopes: DEMO_API_SCOPE });
        embedded.push(`demo API at ${demoApi.url}`);
        if (options.obo) {
          Object.assign(settings, { DownstreamApis__obo__BaseUrl: `${appUrl}/api/obo/demo/`, DownstreamApis__obo__Scopes: OWN_API_SCOPE });
          embedded.push(`on-behalf-of: the API "obo" is the app's own /api/obo/demo/, which exchanges the token for the demo API's`);
        }
        if (options.appIdentityApi) {
          Object.assign(settings, { DownstreamApis__demoapp__BaseUrl: demoApi.url, DownstreamApis__demoapp__Scopes: `${DEMO_API_AUDIENCE}/.default`, DownstreamApis__demoapp__RequestAppToken: 'true' });
        }
      }
      if (options.graph) {
        graph = await startGraphStandIn({ tls, jwksUri: `${idp.issuer}/jwks`, issuers });
        closers.push(() => graph!.close());
        settings['DownstreamApis__graph__BaseUrl'] ??= graph.baseUrl;
        settings['DownstreamApis__graph__Scopes'] ??= GRAPH_USER_READ;
        embedded.push(`Microsoft Graph stand-in at ${graph.baseUrl}`);
      }
    }
    settings['AzureAd__RedirectUri'] ??= `${appUrl}/api/redirect`;

    // local.settings.example.json's `UseDevelopmentStorage=true` means Azurite: the embedded one, unless the cache has its own setting.
    const developmentStorage = /^\s*UseDevelopmentStorage=true\s*;?\s*$/i.test(settings['AzureWebJobsStorage'] ?? '');
    const storageSettings = ['TokenCache__ConnectionString', 'TokenCache__TableServiceUri', 'AzureWebJobsStorage__tableServiceUri', 'AzureWebJobsStorage__accountName', ...(developmentStorage ? [] : ['AzureWebJobsStorage'])];
    if (!has(settings, ...storageSettings)) {
      azurite = await startAzuriteTable();
      closers.push(() => azurite!.close());
      settings['TokenCache__ConnectionString'] = azurite.connectionString;
      embedded.push(`Azurite Table service at ${azurite.tableEndpoint}`);
    }
    if (!has(settings, 'Session__Keys', 'Session__KeyVaultUrl')) {
      // A fresh key per run: sessions end when the local stack stops.
      settings['Session__Keys'] = randomBytes(32).toString('base64url');
      embedded.push('session key generated for this run');
    }
    settings['AZURE_FUNCTIONS_ENVIRONMENT'] ??= 'Development';

    const runtimeOptions: RuntimeOptions = generatedSecret
      ? { log, ...options.runtime, credentialLoaders: { ClientSecret: generatedSecretLoader, ...options.runtime?.credentialLoaders } }
      : { log, ...options.runtime };
    let current = runtimeSource(settings, runtimeOptions);
    await current.get(); // fails here, naming the setting, when the configuration is invalid
    // The stack's functions always use its current runtime (replaced only by restartRuntime).
    const runtime: RuntimeSource = { get: () => current.get() };
    const restartRuntime = (next: Settings = settings): void => {
      current = runtimeSource(next, runtimeOptions);
    };
    // Streamed or buffered as the app's own app.setup says, so the local run tells the truth about the deployed one.
    const host = await startLocalFunctionsHost({ functions: createHttpFunctions(runtime), enableHttpStream: APP_SETUP.enableHttpStream, port, hostname: '127.0.0.1', log, rootRedirect: '/api/', publicUrl: appUrl });
    closers.push(() => host.close());
    const startInstance = async (): Promise<LocalFunctionsHost> => {
      const own = runtimeSource(settings, runtimeOptions);
      await own.get();
      const instance = await startLocalFunctionsHost({ functions: createHttpFunctions(own), port: 0, hostname: '127.0.0.1', log });
      closers.push(() => instance.close());
      return instance;
    };
    // Timer functions run on their schedules, as under the Functions host (the purge timer).
    const timers = startTimers(createTimerFunctions(runtime), log);
    closers.push(() => timers.close());
    return { appUrl, settings, embedded, host, runtime, restartRuntime, startInstance, timers, idp, demoApi, graph, azurite, devClient, caCertPem, close };
  } catch (error) {
    await close();
    throw error;
  }
}
