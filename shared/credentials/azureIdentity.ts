import type { AccessToken, GetTokenOptions, TokenCredential } from '@azure/core-auth';
import type { AppConfig } from '../config';
import { MANAGED_IDENTITY_TIMEOUT_MS } from '../deadline';
import { lazySdks, type LazySdks } from '../lazySdks';

/** One token request of the app's Azure identity, its retries included. */
export const AZURE_CREDENTIAL_TIMEOUT_MS = 3 * MANAGED_IDENTITY_TIMEOUT_MS;

/**
 * @azure/identity's managed identity source (MSAL underneath) ignores the abort signal and the
 * request timeout it is given: an identity endpoint that accepts and never answers held a
 * sign-in until the request's deadline. Every token request is cut after `ms`, or sooner when
 * the caller's signal fires, with a `TimeoutError` (or the signal's reason).
 */
export function boundedCredential(credential: TokenCredential, ms: number = AZURE_CREDENTIAL_TIMEOUT_MS): TokenCredential {
  return {
    getToken(scopes: string | string[], options?: GetTokenOptions): Promise<AccessToken | null> {
      const controller = new AbortController();
      const caller = options?.abortSignal;
      return new Promise<AccessToken | null>((resolve, reject) => {
        let timer: NodeJS.Timeout | undefined;
        const settle = (done: () => void) => {
          clearTimeout(timer);
          caller?.removeEventListener('abort', onCaller);
          done();
        };
        const stop = (reason: unknown) =>
          settle(() => {
            controller.abort(reason);
            reject(reason);
          });
        const onCaller = () => {
          const reason = (caller as { reason?: unknown } | undefined)?.reason;
          stop(reason instanceof Error ? reason : new DOMException('The token request was aborted', 'AbortError'));
        };
        if (caller?.aborted) return onCaller();
        timer = setTimeout(() => stop(new DOMException('The Azure identity did not answer in time', 'TimeoutError')), ms);
        caller?.addEventListener('abort', onCaller, { once: true });
        credential.getToken(scopes, { ...options, abortSignal: controller.signal }).then(
          (token) => settle(() => resolve(token)),
          (error: unknown) => settle(() => reject(error)),
        );
      });
    },
  };
}

type Identity = LazySdks['azureIdentity'];

/**
 * A credential that loads `@azure/identity` at its first token request: a cold instance whose
 * Table connection is a connection string never loads it (it is one of the bundle's largest parts).
 */
class LazyCredential implements TokenCredential {
  private credential: Promise<TokenCredential> | undefined;

  constructor(private readonly create: (identity: Identity) => TokenCredential) {}

  async getToken(scopes: string | string[], options?: GetTokenOptions): Promise<AccessToken | null> {
    this.credential ??= Promise.resolve().then(() => this.create(lazySdks().azureIdentity));
    return (await this.credential).getToken(scopes, options);
  }
}

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
  return cachedPerClientId((clientId) => boundedCredential(new LazyCredential(({ DefaultAzureCredential, ManagedIdentityCredential }) => (clientId ? new ManagedIdentityCredential({ clientId }) : new DefaultAzureCredential()))));
}

/**
 * The token source of SignedAssertionFromManagedIdentity: always a managed identity (never a
 * developer's sign-in, which no federated credential trusts). `@azure/identity` finds the
 * endpoint itself (IDENTITY_ENDPOINT/IDENTITY_HEADER on App Service and Functions, else IMDS).
 */
export function managedIdentityCredentialFactory(): AzureCredentialFactory {
  return cachedPerClientId((clientId) => boundedCredential(new LazyCredential(({ ManagedIdentityCredential }) => (clientId ? new ManagedIdentityCredential({ clientId }) : new ManagedIdentityCredential()))));
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
