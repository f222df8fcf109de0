import type { TokenCredential } from '@azure/core-auth';
import { DefaultAzureCredential, ManagedIdentityCredential } from '@azure/identity';
import { loadConfig, processSettings, type AppConfig, type Settings } from './config';
import { ConfigurationError } from './errors';
import { ProviderDirectory } from './auth/discovery';
import { ClientCredentialProvider, loadClientSecret, type CredentialLoader } from './credentials/clientCredential';
import { createCookieSealer, type CookieSealer } from './session/sealing';
import { TokenCacheTable, createTableClient, type TableCallCounts } from './tokenCache/tableStore';

/**
 * Everything a request needs that is worth keeping for the life of the process: the parsed
 * configuration, the Table client, provider metadata and keys, the client credential, the
 * cookie sealer. Built once, on first use; a configuration error is kept (every function then
 * answers 503 naming the setting), any other start-up failure is retried by the next request.
 */
export interface Runtime {
  readonly config: AppConfig;
  readonly sealer: CookieSealer;
  readonly tokenCache: TokenCacheTable;
  readonly tableCalls: TableCallCounts;
  readonly providers: ProviderDirectory;
  readonly credentials: ClientCredentialProvider;
  readonly log: (line: string) => void;
}

export interface RuntimeOptions {
  /** Extra credential loaders (Key Vault, managed identity) registered by their modules. */
  readonly credentialLoaders?: Readonly<Partial<Record<string, CredentialLoader>>>;
  /** How session keys held in Key Vault are fetched. */
  readonly loadSessionKeys?: (config: AppConfig, azureCredential: (clientId?: string) => TokenCredential) => Promise<readonly Uint8Array[]>;
  readonly log?: (line: string) => void;
}

let settingsSource: () => Settings = processSettings;
let runtimeOptions: RuntimeOptions = {};
let current: Promise<Runtime> | undefined;

/** For the local host and tests: use these settings instead of the process environment. */
export function configureRuntime(settings: Settings | (() => Settings), options: RuntimeOptions = runtimeOptions): void {
  settingsSource = typeof settings === 'function' ? settings : () => settings;
  runtimeOptions = options;
  current = undefined;
}

export function setRuntimeOptions(options: RuntimeOptions): void {
  runtimeOptions = { ...runtimeOptions, ...options };
  current = undefined;
}

export function getRuntime(): Promise<Runtime> {
  if (!current) {
    const building = buildRuntime(settingsSource(), runtimeOptions);
    current = building;
    building.catch((error: unknown) => {
      if (!(error instanceof ConfigurationError) && current === building) current = undefined;
    });
  }
  return current;
}

function azureCredentialFactory(): (clientId?: string) => TokenCredential {
  const cache = new Map<string, TokenCredential>();
  return (clientId) => {
    const key = clientId ?? '';
    let credential = cache.get(key);
    if (!credential) {
      // A user-assigned identity is named by its client id; otherwise the developer's or the host's identity.
      credential = clientId ? new ManagedIdentityCredential({ clientId }) : new DefaultAzureCredential();
      cache.set(key, credential);
    }
    return credential;
  };
}

async function buildRuntime(settings: Settings, options: RuntimeOptions): Promise<Runtime> {
  const config = loadConfig(settings);
  const log = options.log ?? ((line: string) => console.log(line));
  const azureCredential = azureCredentialFactory();
  const tableCalls: TableCallCounts = { reads: 0, writes: 0, deletes: 0, other: 0 };
  const tableClient = createTableClient(config.tokenCache.connection, config.tokenCache.tableName, azureCredential, tableCalls);

  let sessionKeys: readonly Uint8Array[];
  if (config.session.keySource.kind === 'inline') {
    sessionKeys = config.session.keySource.keys;
  } else if (options.loadSessionKeys) {
    sessionKeys = await options.loadSessionKeys(config, azureCredential);
  } else {
    throw new ConfigurationError([{ setting: 'Session__KeyVaultUrl', message: 'session keys from Key Vault are not available in this build' }]);
  }

  const loaders = { ClientSecret: loadClientSecret, ...options.credentialLoaders } as Record<string, CredentialLoader>;
  return {
    config,
    sealer: createCookieSealer(sessionKeys),
    tokenCache: new TokenCacheTable(tableClient),
    tableCalls,
    providers: new ProviderDirectory(config.authority),
    credentials: new ClientCredentialProvider(config.clientCredentials, loaders, log),
    log,
  };
}
