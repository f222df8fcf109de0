import type { ConfidentialClientApplication, Configuration, ICachePlugin } from '@azure/msal-node';
import { msalNode } from './msalNode';
import type { AppConfig } from '../config';
import type { MsalClientCredential } from '../credentials/clientCredential';
import type { Provider } from './discovery';
import type { ProblemError } from '../problems';
import { TimedNetworkClient, type BeforeTokenRequest } from './msalNetwork';

const networkClients = new WeakMap<ConfidentialClientApplication, TimedNetworkClient>();

/** Why the client's last provider call failed (timeout, unreachable), when MSAL only says `network_error`. */
export function networkFailure(client: ConfidentialClientApplication): ProblemError | undefined {
  return networkClients.get(client)?.failure;
}

/**
 * A confidential client for one request (or one account): MSAL keeps tokens in memory, so a
 * shared instance would mix users' caches. It is cheap to build because the provider's
 * metadata is handed over (no discovery) and the credential comes from memory.
 */
export function createConfidentialClient(config: AppConfig, authorityUrl: string, provider: Provider, credential: MsalClientCredential, cachePlugin?: ICachePlugin, beforeTokenRequest?: BeforeTokenRequest): ConfidentialClientApplication {
  const { ConfidentialClientApplication, LogLevel, ProtocolMode } = msalNode();
  const networkClient = new TimedNetworkClient(beforeTokenRequest);
  const msalConfig: Configuration = {
    auth: {
      clientId: config.clientId,
      authority: authorityUrl,
      knownAuthorities: [...config.authority.knownAuthorities],
      authorityMetadata: provider.metadataJson,
      // cp1: the app handles claims challenges, so Entra may issue long-lived CAE tokens to it.
      ...(config.clientCapabilities.length > 0 ? { clientCapabilities: [...config.clientCapabilities] } : {}),
      ...credential,
    },
    cache: cachePlugin ? { cachePlugin } : undefined,
    system: {
      // Entra and B2C speak MSAL's AAD dialect; any other OpenID provider plain OIDC.
      networkClient,
      protocolMode: config.authority.kind === 'oidc' ? ProtocolMode.OIDC : ProtocolMode.AAD,
      // Stryker disable next-line ObjectLiteral,BooleanLiteral: equivalent, this callback and MSAL's default one write nothing
      loggerOptions: { logLevel: LogLevel.Error, piiLoggingEnabled: false, loggerCallback: () => {} },
    },
  };
  const client = new ConfidentialClientApplication(msalConfig);
  networkClients.set(client, networkClient);
  return client;
}
