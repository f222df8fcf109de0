import { randomBytes } from 'node:crypto';
import type { Settings } from '../../shared/config';
import type { RuntimeOptions } from '../../shared/runtime';
import type { LocalStack } from '../../dev/stack';
import { CookieJar, proxyCall, signIn } from './browserless';
import { staticTokenCredential, type KeyVaultServer } from './keyVaultServer';

/** The bearer token the test vault accepts from the app's (test) Azure identity. */
export const VAULT_TOKEN = `vault-token-${randomBytes(8).toString('hex')}`;

/**
 * Runtime options for a vault on loopback: the app's Azure identity is a fixed-token credential
 * the vault trusts, the challenge's resource check is relaxed because the vault is on
 * loopback (as for a local emulator), and a failed read is retried once, quickly.
 */
export function vaultRuntimeOptions(log: (line: string) => void, extra: RuntimeOptions = {}): RuntimeOptions {
  const credential = staticTokenCredential(VAULT_TOKEN);
  return {
    azureCredential: () => credential,
    keyVault: { retry: { maxRetries: 1, retryDelayInMs: 20, maxRetryDelayInMs: 50 }, timeoutMs: 5000 },
    log,
    ...extra,
  };
}

export function keyVaultSecretSettings(vault: KeyVaultServer, secretName: string, index = 0): Settings {
  return {
    [`AzureAd__ClientCredentials__${index}__SourceType`]: 'KeyVault',
    [`AzureAd__ClientCredentials__${index}__KeyVaultUrl`]: vault.url,
    [`AzureAd__ClientCredentials__${index}__KeyVaultSecretName`]: secretName,
  };
}

export function keyVaultCertificateSettings(vault: KeyVaultServer, certificateName: string, options: { index?: number; sendX5c?: boolean } = {}): Settings {
  const prefix = `AzureAd__ClientCredentials__${options.index ?? 0}__`;
  return {
    [`${prefix}SourceType`]: 'KeyVault',
    [`${prefix}KeyVaultUrl`]: vault.url,
    [`${prefix}KeyVaultCertificateName`]: certificateName,
    ...(options.sendX5c ? { [`${prefix}SendX5C`]: 'true' } : {}),
  };
}

/** Session keys in Key Vault's secret format: comma-separated base64url 32-byte keys. */
export function newSessionKeys(count = 2): string {
  return Array.from({ length: count }, () => randomBytes(32).toString('base64url')).join(',');
}

/** The real flow: sign in over HTTP, then one proxied call to the demo API. */
export async function signInAndCallApi(stack: LocalStack, username?: string): Promise<CookieJar> {
  const jar = new CookieJar();
  await signIn(stack.appUrl, jar, { username });
  const answer = await proxyCall(stack.appUrl, jar, 'demo/profile');
  if (answer.status !== 200) throw new Error(`the proxied call answered ${answer.status}: ${await answer.text()}`);
  return jar;
}
