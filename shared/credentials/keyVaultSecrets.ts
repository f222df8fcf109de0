import type { TokenCredential } from '@azure/core-auth';
import type { SecretClient } from '@azure/keyvault-secrets';
import { problems, type ProblemCode, type ProblemError } from '../problems';
import { isLoopbackHost } from '../config';
import { lazySdks } from '../lazySdks';
import { KEY_VAULT_TIMEOUT_MS, abortProblem, outboundSignal } from '../deadline';

export interface KeyVaultClientOptions {
  /** Retries of one read (network errors, 5xx, 429); defaults suit a read a user may be waiting on. */
  readonly retry?: { readonly maxRetries?: number; readonly retryDelayInMs?: number; readonly maxRetryDelayInMs?: number };
  /** Per attempt, so a vault that never answers cannot hold a request forever. */
  readonly timeoutMs?: number;
}

/** A secret in a vault, and the setting that named it: every error message says both. */
export interface VaultSecretReference {
  readonly vaultUrl: string;
  readonly name: string;
  /** e.g. `AzureAd__ClientCredentials__0__KeyVaultSecretName`. */
  readonly setting: string;
}

export interface VaultSecret {
  readonly value: string;
  /** `application/x-pem-file` or `application/x-pkcs12` for a certificate's secret. */
  readonly contentType?: string;
}

// At worst about 17 s before a request gets its 503: three attempts of 5 s, and the pauses between.
const DEFAULT_RETRY = { maxRetries: 2, retryDelayInMs: 500, maxRetryDelayInMs: 2000 };
const DEFAULT_TIMEOUT_MS = KEY_VAULT_TIMEOUT_MS;
const CREDENTIAL_ERRORS = new Set(['CredentialUnavailableError', 'AuthenticationError', 'AggregateAuthenticationError', 'AuthenticationRequiredError']);

/** `https://vault/secrets/name`: the vault object, as Key Vault itself names it. */
export function vaultObject(ref: Pick<VaultSecretReference, 'vaultUrl' | 'name'>): string {
  return `${new URL(ref.vaultUrl).origin}/secrets/${ref.name}`;
}

type KeyVaultProblemCode = Extract<ProblemCode, `key_vault_${string}`>;

function keyVaultProblem(code: KeyVaultProblemCode, detail: string): ProblemError {
  return problems[code](detail);
}

/** Maps a failed read to a stable code; the message names the setting and the object, never a value. */
function readFailure(error: unknown, ref: VaultSecretReference): ProblemError {
  const where = `${ref.setting}: ${vaultObject(ref)}`;
  const name = error instanceof Error ? error.name : '';
  const status = (error as { statusCode?: unknown }).statusCode;
  if (status === 404) return keyVaultProblem('key_vault_secret_not_found', `${where} does not exist or is not a secret (Key Vault answered 404).`);
  if (status === 401 || status === 403) {
    return keyVaultProblem('key_vault_access_denied', `${where}: Key Vault refused the app's identity (HTTP ${status}). Give it the Key Vault Secrets User role on the vault, and check the secret is enabled.`);
  }
  if (status === 429) return keyVaultProblem('key_vault_throttled', `${where}: Key Vault is throttling requests (HTTP 429).`);
  if (typeof status === 'number' && status >= 500) return keyVaultProblem('key_vault_unavailable', `${where}: Key Vault answered HTTP ${status}.`);
  // The app's identity did not answer in time (shared/credentials/azureIdentity.ts bounds it).
  if (name === 'TimeoutError') return keyVaultProblem('key_vault_sign_in_failed', `${where}: the app's Azure identity gave no token for Key Vault in time.`);
  if (CREDENTIAL_ERRORS.has(name)) return keyVaultProblem('key_vault_sign_in_failed', `${where}: the app's Azure identity could not get a token for Key Vault.`);
  if (name === 'RestError' || name === 'AbortError') return keyVaultProblem('key_vault_unreachable', `${where}: Key Vault could not be reached.`);
  return keyVaultProblem('key_vault_request_failed', `${where}: the read failed (${name || typeof error}).`);
}

/**
 * The SDK checks that Key Vault's 401 challenge names a resource matching the vault's host
 * (`*.vault.azure.net`), so a token is never sent to a look-alike. A vault on a loopback host is
 * a local emulator or test vault, whose challenge cannot name such a resource: the check is
 * relaxed for those hosts only.
 */
export function relaxChallengeResourceCheck(vaultUrl: string): boolean {
  return isLoopbackHost(new URL(vaultUrl).hostname);
}

/**
 * Reads secrets from Key Vault: one SecretClient per vault and process, created on first use,
 * authenticated with the app's Azure identity through Key Vault's challenge flow. Callers keep
 * what they read (Key Vault throttles at 4,000 GETs per 10 s per vault); `reads` counts calls.
 */
export class KeyVaultSecrets {
  private readonly clients = new Map<string, SecretClient>();
  reads = 0;

  constructor(
    private readonly credential: () => TokenCredential,
    private readonly options: KeyVaultClientOptions = {},
  ) {}

  async read(ref: VaultSecretReference): Promise<VaultSecret> {
    this.reads++;
    let secret: Awaited<ReturnType<SecretClient['getSecret']>>;
    const timeout = this.options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const retry = { ...DEFAULT_RETRY, ...this.options.retry };
    // Every attempt and every pause, and never past the request's deadline.
    const abortSignal = outboundSignal(timeout * (retry.maxRetries + 1) + retry.maxRetryDelayInMs * retry.maxRetries);
    try {
      secret = await (await this.client(ref.vaultUrl)).getSecret(ref.name, { abortSignal, requestOptions: { timeout } });
    } catch (error) {
      if (abortSignal.aborted) throw abortProblem(abortSignal, 'key_vault');
      throw readFailure(error, ref);
    }
    if (!secret.value) throw keyVaultProblem('key_vault_secret_empty', `${ref.setting}: ${vaultObject(ref)} has no value.`);
    return { value: secret.value, contentType: secret.properties.contentType };
  }

  /** The SDK loads with the first read: an app without Key Vault settings never loads it. */
  private async client(vaultUrl: string): Promise<SecretClient> {
    const key = new URL(vaultUrl).origin;
    let client = this.clients.get(key);
    if (!client) {
      const { SecretClient } = await Promise.resolve().then(() => lazySdks().keyVaultSecrets);
      client = this.clients.get(key);
      if (client) return client;
      client = new SecretClient(key, this.credential(), {
        disableChallengeResourceVerification: relaxChallengeResourceCheck(key),
        retryOptions: { ...DEFAULT_RETRY, ...this.options.retry },
      });
      this.clients.set(key, client);
    }
    return client;
  }
}
