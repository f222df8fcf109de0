import { loadConfig, type AppConfig, type Settings } from './config';
import { ConfigurationError } from './errors';
import { ProviderDirectory } from './auth/discovery';
import { ClientCredentialProvider, clientSecretWarning, loadClientSecret, type CredentialLoader } from './credentials/clientCredential';
import { appIdentityClientId, defaultAzureCredentialFactory, managedIdentityCredentialFactory, type AzureCredentialFactory } from './credentials/azureIdentity';
import { KeyVaultSecrets, type KeyVaultClientOptions } from './credentials/keyVaultSecrets';
import { keyVaultCredentialLoader } from './credentials/keyVaultCredential';
import { managedIdentityCredentialLoader } from './credentials/managedIdentityAssertion';
import { loadSessionKeysFromKeyVault, loadTokenCacheKeys, type KeyVaultSessionKeySource } from './credentials/sessionKeys';
import { RowCipher } from './tokenCache/rowCipher';
import { createCookieSealer, type CookieSealer } from './session/sealing';
import { TokenCacheTable, createTableClient, readSasFor, type TableCallCounts } from './tokenCache/tableStore';
import { nameDependencyOrigins } from './observe';
import { startTelemetryAfterFirstRequest } from './telemetry';

/**
 * Everything a request needs that is worth keeping for the life of the process: the parsed
 * configuration, the Table and Key Vault clients, provider metadata and keys, the client
 * credential, the cookie sealer. Built once, on first use, by a `RuntimeSource`.
 */
export interface Runtime {
  readonly config: AppConfig;
  readonly sealer: CookieSealer;
  readonly tokenCache: TokenCacheTable;
  readonly tableCalls: TableCallCounts;
  /** Key Vault reads go through here; `keyVault.reads` counts them. */
  readonly keyVault: KeyVaultSecrets;
  readonly providers: ProviderDirectory;
  readonly credentials: ClientCredentialProvider;
  readonly log: (line: string) => void;
}

/**
 * How the process reaches Azure. The defaults are production's; the local stack and tests
 * replace the parts that cannot be real on loopback (they never read process.env for it).
 */
export interface RuntimeOptions {
  /** Loaders by SourceType, replacing the built-in ones (ClientSecret, KeyVault, SignedAssertionFromManagedIdentity). */
  readonly credentialLoaders?: Readonly<Partial<Record<string, CredentialLoader>>>;
  /** How session keys held in Key Vault are fetched; default: the secret `Session__KeyVaultSecretName`. */
  readonly loadSessionKeys?: (secrets: KeyVaultSecrets, source: KeyVaultSessionKeySource) => Promise<readonly Uint8Array[]>;
  /** The app's identity for Key Vault and an identity-based Table connection; default DefaultAzureCredential / ManagedIdentityCredential. */
  readonly azureCredential?: AzureCredentialFactory;
  /** The token source of SignedAssertionFromManagedIdentity; default ManagedIdentityCredential. */
  readonly managedIdentityCredential?: AzureCredentialFactory;
  readonly keyVault?: KeyVaultClientOptions;
  readonly log?: (line: string) => void;
}

/**
 * The lazy per-process runtime: built at the first request that needs it and then shared.
 * A configuration error is kept (every function then answers 503 naming the setting); any other
 * start-up failure (a vault that cannot be read) is retried by the next request. Each source is
 * its own runtime: two apps in one process (tests) never share or rebind one.
 */
export interface RuntimeSource {
  get(): Promise<Runtime>;
}

export function runtimeSource(settings: Settings | (() => Settings), options: RuntimeOptions = {}): RuntimeSource {
  const readSettings = typeof settings === 'function' ? settings : () => settings;
  let current: Promise<Runtime> | undefined;
  return {
    get() {
      if (!current) {
        const building = buildRuntime(readSettings(), options);
        current = building;
        building.catch((error: unknown) => {
          if (!(error instanceof ConfigurationError) && current === building) current = undefined;
        });
      }
      return current;
    },
  };
}

async function buildRuntime(settings: Settings, options: RuntimeOptions): Promise<Runtime> {
  const config = loadConfig(settings);
  nameDependencyOrigins(Object.fromEntries([[config.authority.url, 'provider'], ...[...config.downstreamApis.values()].map((api) => [api.baseUrl, 'api'])]));
  const log = options.log ?? ((line: string) => console.log(line));
  startTelemetryAfterFirstRequest(config.telemetry, log);
  const warning = clientSecretWarning(config);
  if (warning) log(warning);

  const azureCredential = options.azureCredential ?? defaultAzureCredentialFactory();
  const tableCalls: TableCallCounts = { reads: 0, writes: 0, deletes: 0, other: 0 };
  const tableClient = createTableClient(config.tokenCache.connection, config.tokenCache.tableName, azureCredential, tableCalls);
  const keyVault = new KeyVaultSecrets(() => azureCredential(appIdentityClientId(config)), options.keyVault);

  const keySource = config.session.keySource;
  const sessionKeys = keySource.kind === 'inline' ? keySource.keys : await (options.loadSessionKeys ?? loadSessionKeysFromKeyVault)(keyVault, keySource);
  const cacheKeys = await loadTokenCacheKeys(config.tokenCache.encryption, sessionKeys, keyVault);

  const loaders: Record<string, CredentialLoader> = {
    ClientSecret: loadClientSecret,
    KeyVault: keyVaultCredentialLoader(keyVault),
    SignedAssertionFromManagedIdentity: managedIdentityCredentialLoader(options.managedIdentityCredential ?? managedIdentityCredentialFactory()),
    ...options.credentialLoaders,
  };
  const credentials = new ClientCredentialProvider(config.clientCredentials, loaders, log);
  // Loaded now rather than at the first sign-in, so a vault or identity problem shows in the
  // start-up log; a failed load is not kept, and the next request that needs it tries again.
  credentials.get().catch(() => {});

  return {
    config,
    sealer: createCookieSealer(sessionKeys),
    tokenCache: new TokenCacheTable(tableClient, new RowCipher(cacheKeys), readSasFor(config.tokenCache.connection, config.tokenCache.tableName)),
    tableCalls,
    keyVault,
    providers: new ProviderDirectory(config.authority),
    credentials,
    log,
  };
}
