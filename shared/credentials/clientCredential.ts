import type { AppConfig, ClientCredentialSource } from '../config';
import { describeForLog } from '../errors';
import { ProblemError, problems } from '../problems';

/** What MSAL's `auth` section takes to authenticate the confidential client. */
export type MsalClientCredential =
  | { readonly clientSecret: string }
  | { readonly clientCertificate: { readonly thumbprintSha256: string; readonly privateKey: string; readonly x5c?: string } }
  | { readonly clientAssertion: () => Promise<string> };

/** A credential as a source loaded it. */
export interface LoadedCredential {
  readonly credential: MsalClientCredential;
  /** For the start-up log: where it came from, never its value. */
  readonly description: string;
  /** When it stops being usable (a certificate's NotAfter): it is loaded again after that. */
  readonly validUntil?: Date;
}

/** Loads one credential source; implementations live beside this file. Failures are ProblemErrors naming the setting. */
export type CredentialLoader = (source: ClientCredentialSource) => Promise<LoadedCredential>;

/** Why one source did not load: the setting and a stable code, for the problem's `sources`. */
export interface SourceFailure {
  readonly setting: string;
  readonly code: string;
}

export function sourceSettingPrefix(source: ClientCredentialSource): string {
  return `AzureAd__ClientCredentials__${source.index}__`;
}

export function credentialUnavailable(detail: string, sources: readonly SourceFailure[] = []): ProblemError {
  return problems.client_credential_unavailable(detail, { sources });
}

interface CachedCredential {
  readonly credential: Promise<MsalClientCredential>;
  validUntil?: number;
}

/**
 * The confidential client's credential, loaded once per process from the first source that
 * loads (Microsoft.Identity.Web's rule) and kept in memory: no Key Vault or identity endpoint
 * call per request. `reload()` is for a provider that rejects the credential (rotation):
 * concurrent callers share one reload. A failed load is not kept: the next caller tries again.
 */
export class ClientCredentialProvider {
  private current: CachedCredential | undefined;
  /** Loads started (the first one and every reload). */
  loads = 0;

  constructor(
    private readonly sources: readonly ClientCredentialSource[],
    private readonly loaders: Readonly<Partial<Record<ClientCredentialSource['sourceType'], CredentialLoader>>>,
    private readonly log: (line: string) => void = () => {},
  ) {}

  get(): Promise<MsalClientCredential> {
    if (this.current?.validUntil !== undefined && Date.now() >= this.current.validUntil) {
      // Past the certificate's NotAfter: the vault may hold its renewal by now.
      this.current = undefined;
    }
    this.current ??= this.startLoad();
    return this.current.credential;
  }

  /** Drops the cached credential (the one that failed) and loads again, once for all callers. */
  reload(failed: Promise<MsalClientCredential>): Promise<MsalClientCredential> {
    if (this.current?.credential === failed) this.current = undefined;
    return this.get();
  }

  private startLoad(): CachedCredential {
    const credential = this.loadFirst().then((loaded) => {
      entry.validUntil = loaded.validUntil?.getTime();
      return loaded.credential;
    });
    const entry: CachedCredential = { credential };
    credential.catch(() => {
      if (this.current === entry) this.current = undefined;
    });
    return entry;
  }

  private async loadFirst(): Promise<LoadedCredential> {
    this.loads++;
    const reasons: string[] = [];
    const failures: SourceFailure[] = [];
    for (const source of this.sources) {
      const prefix = sourceSettingPrefix(source);
      const loader = this.loaders[source.sourceType];
      try {
        if (!loader) throw problems.credential_source_unsupported(`${prefix}SourceType: ${source.sourceType} is not supported here.`);
        const loaded = await loader(source);
        this.log(`client credential: ${prefix.slice(0, -2)} (${loaded.description})`);
        return loaded;
      } catch (error) {
        const problem = error instanceof ProblemError ? error : undefined;
        const reason = problem?.detail ?? `${prefix}SourceType: ${source.sourceType} could not be loaded (${describeForLog(error)}).`;
        reasons.push(reason);
        failures.push({ setting: prefix.slice(0, -2), code: problem?.code ?? 'credential_source_failed' });
        this.log(`client credential source ${source.index} (${source.sourceType}) failed: ${reason}`);
      }
    }
    throw credentialUnavailable(reasons.join(' ') || 'No client credential is configured.', failures);
  }
}

export const loadClientSecret: CredentialLoader = async (source) => {
  if (source.sourceType !== 'ClientSecret') throw new Error('not a client secret source');
  return { credential: { clientSecret: source.clientSecret }, description: 'ClientSecret from app settings' };
};

/** Warns (without the value) when a plain secret from settings may be used outside local development. */
export function clientSecretWarning(config: AppConfig): string | undefined {
  const plain = config.clientCredentials.find((source) => source.sourceType === 'ClientSecret');
  if (plain && !config.isLocalDevelopment) {
    return 'AzureAd__ClientCredentials uses a ClientSecret from app settings: outside local development, use KeyVault or SignedAssertionFromManagedIdentity.';
  }
  return undefined;
}
