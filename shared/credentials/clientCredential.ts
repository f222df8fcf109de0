import type { AppConfig, ClientCredentialSource } from '../config';
import { ProblemError } from '../errors';

/** What MSAL's `auth` section takes to authenticate the confidential client. */
export type MsalClientCredential =
  | { readonly clientSecret: string }
  | { readonly clientCertificate: { readonly thumbprintSha256: string; readonly privateKey: string; readonly x5c?: string } }
  | { readonly clientAssertion: () => Promise<string> };

/** Loads one credential source; implementations live beside this file. */
export type CredentialLoader = (source: ClientCredentialSource) => Promise<MsalClientCredential>;

export function credentialUnavailable(detail: string): ProblemError {
  return new ProblemError(503, 'client_credential_unavailable', 'The app could not load its client credential', detail);
}

/**
 * The confidential client's credential, loaded once per process from the first source that
 * loads (Microsoft.Identity.Web's rule) and kept in memory. `reload()` is for a provider that
 * rejects the credential (rotation): concurrent callers share one reload.
 */
export class ClientCredentialProvider {
  private current: Promise<MsalClientCredential> | undefined;
  loads = 0;

  constructor(
    private readonly sources: readonly ClientCredentialSource[],
    private readonly loaders: Readonly<Partial<Record<ClientCredentialSource['sourceType'], CredentialLoader>>>,
    private readonly log: (line: string) => void = () => {},
  ) {}

  get(): Promise<MsalClientCredential> {
    if (!this.current) {
      const loading = this.loadFirst();
      this.current = loading;
      loading.catch(() => {
        if (this.current === loading) this.current = undefined;
      });
    }
    return this.current;
  }

  /** Drops the cached credential (the one that failed) and loads again, once for all callers. */
  reload(failed: Promise<MsalClientCredential>): Promise<MsalClientCredential> {
    if (this.current === failed) this.current = undefined;
    return this.get();
  }

  private async loadFirst(): Promise<MsalClientCredential> {
    this.loads++;
    const failures: string[] = [];
    for (const source of this.sources) {
      const loader = this.loaders[source.sourceType];
      if (!loader) {
        failures.push(`AzureAd__ClientCredentials__${source.index}__SourceType ${source.sourceType} is not supported here`);
        continue;
      }
      try {
        return await loader(source);
      } catch (error) {
        const reason = error instanceof ProblemError ? (error.detail ?? error.title) : 'could not be loaded';
        failures.push(`AzureAd__ClientCredentials__${source.index} (${source.sourceType}): ${reason}`);
        this.log(`client credential source ${source.index} (${source.sourceType}) failed: ${reason}`);
      }
    }
    throw credentialUnavailable(failures.join('; ') || 'No client credential is configured.');
  }
}

export const loadClientSecret: CredentialLoader = async (source) => {
  if (source.sourceType !== 'ClientSecret') throw new Error('not a client secret source');
  return { clientSecret: source.clientSecret };
};

/** Warns (without the value) when a plain secret from settings is used outside local development. */
export function clientSecretWarning(config: AppConfig): string | undefined {
  const first = config.clientCredentials[0];
  if (first?.sourceType === 'ClientSecret' && !config.isLocalDevelopment) {
    return 'AzureAd__ClientCredentials uses a ClientSecret from app settings: use KeyVault or SignedAssertionFromManagedIdentity outside local development.';
  }
  return undefined;
}
