import { parseSessionKeys, type SessionKeySource } from '../config';
import { problems } from '../problems';
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
