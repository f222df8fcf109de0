import type { TokenCredential } from '@azure/core-auth';
import { DefaultAzureCredential, ManagedIdentityCredential } from '@azure/identity';
import type { AppConfig } from '../config';

/** The Azure credential for a user-assigned identity (named by its client id), or without one the default. */
export type AzureCredentialFactory = (clientId?: string) => TokenCredential;

function cachedPerClientId(create: (clientId: string | undefined) => TokenCredential): AzureCredentialFactory {
  const credentials = new Map<string, TokenCredential>();
  return (clientId) => {
    const key = clientId ?? '';
    let credential = credentials.get(key);
    if (!credential) {
      credential = create(clientId);
      credentials.set(key, credential);
    }
    return credential;
  };
}

/**
 * The app's identity for Table Storage and Key Vault: a user-assigned managed identity when a
 * client id is named, otherwise `DefaultAzureCredential` (the developer's sign-in locally, the
 * host's identity in Azure). One credential per identity and process, so tokens are cached.
 */
export function defaultAzureCredentialFactory(): AzureCredentialFactory {
  return cachedPerClientId((clientId) => (clientId ? new ManagedIdentityCredential({ clientId }) : new DefaultAzureCredential()));
}

/**
 * The token source of SignedAssertionFromManagedIdentity: always a managed identity (never a
 * developer's sign-in, which no federated credential trusts). `@azure/identity` finds the
 * endpoint itself (IDENTITY_ENDPOINT/IDENTITY_HEADER on App Service and Functions, else IMDS).
 */
export function managedIdentityCredentialFactory(): AzureCredentialFactory {
  return cachedPerClientId((clientId) => (clientId ? new ManagedIdentityCredential({ clientId }) : new ManagedIdentityCredential()));
}

/**
 * The user-assigned identity the settings name for the app's own Azure resources
 * (`TokenCache__ClientId`, or `AzureWebJobsStorage__clientId`). Key Vault is read with it too:
 * a Functions app with only a user-assigned identity has no other way to say which one to use.
 */
export function appIdentityClientId(config: AppConfig): string | undefined {
  const connection = config.tokenCache.connection;
  return connection.kind === 'identity' ? connection.managedIdentityClientId : undefined;
}
