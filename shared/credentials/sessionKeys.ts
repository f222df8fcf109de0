import { parseSessionKeys, type SessionKeySource, type TokenCacheKeySource } from '../config';
import { problems } from '../problems';
import { deriveCacheKeys } from '../tokenCache/rowCipher';
import { vaultObject, type KeyVaultSecrets } from './keyVaultSecrets';

export type KeyVaultSessionKeySource = Extract<SessionKeySource, { kind: 'keyVault' }>;

/**
 * `Session__KeyVaultUrl` + `Session__KeyVaultSecretName`: the cookie keys held as one secret,
 * in `Session__Keys`' format (comma-separated base64url 32-byte keys, the first seals). Read
 * once per process, when the runtime is built.
 */
export async function loadSessionKeysFromKeyVault(secrets: KeyVaultSecrets, source: KeyVaultSessionKeySource): Promise<readonly Uint8Array[]> {
  const ref = { vaultUrl: source.keyVaultUrl, name: source.secretName, setting: 'Session__KeyVaultSecretName' };
  const secret = await secrets.read(ref);
  const parsed = parseSessionKeys(secret.value.trim());
  if ('problem' in parsed) {
    throw problems.session_keys_invalid(`${ref.setting}: ${vaultObject(ref)}: ${parsed.problem}.`);
  }
  return parsed.keys;
}

/**
 * The keys that encrypt cache rows at rest: `TokenCache__EncryptionKeys`, a Key Vault secret in
 * the same format (`TokenCache__KeyVaultUrl` + `__KeyVaultSecretName`), or, with neither, keys
 * derived from the session keys. Read once per process.
 */
export async function loadTokenCacheKeys(source: TokenCacheKeySource, sessionKeys: readonly Uint8Array[], secrets: KeyVaultSecrets): Promise<readonly Uint8Array[]> {
  if (source.kind === 'inline') return source.keys;
  if (source.kind === 'derivedFromSessionKeys') return deriveCacheKeys(sessionKeys);
  const ref = { vaultUrl: source.keyVaultUrl, name: source.secretName, setting: 'TokenCache__KeyVaultSecretName' };
  const secret = await secrets.read(ref);
  const parsed = parseSessionKeys(secret.value.trim());
  if ('problem' in parsed) {
    throw problems.token_cache_keys_invalid(`${ref.setting}: ${vaultObject(ref)}: ${parsed.problem}.`);
  }
  return parsed.keys;
}
