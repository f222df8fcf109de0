import type { ClientCredentialSource } from '../config';
import { problems, type ProblemError } from '../problems';
import { CertificateError, certificateCredential, checkValidity, parseCertificateSecret, sha256Thumbprint } from './certificate';
import { sourceSettingPrefix, type CredentialLoader, type LoadedCredential } from './clientCredential';
import { vaultObject, type KeyVaultSecrets, type VaultSecretReference } from './keyVaultSecrets';

type KeyVaultSource = Extract<ClientCredentialSource, { sourceType: 'KeyVault' }>;

function certificateProblem(error: CertificateError, ref: VaultSecretReference): ProblemError {
  return problems[error.code](`${ref.setting}: ${vaultObject(ref)}: ${error.message}.`);
}

/**
 * A certificate, read through the secret of the same name (that is where Key Vault exposes the
 * private key), checked for its validity period, and handed to MSAL with its SHA-256 thumbprint.
 */
async function loadCertificate(secrets: KeyVaultSecrets, source: KeyVaultSource, name: string, now: () => Date): Promise<LoadedCredential> {
  const ref = { vaultUrl: source.keyVaultUrl, name, setting: `${sourceSettingPrefix(source)}KeyVaultCertificateName` };
  const secret = await secrets.read(ref);
  try {
    const cert = parseCertificateSecret(secret.value, secret.contentType);
    checkValidity(cert.certificate, now());
    return {
      credential: certificateCredential(cert, source.sendX5c),
      description: `KeyVault certificate ${vaultObject(ref)}, SHA-256 thumbprint ${sha256Thumbprint(cert.certificate)}, valid until ${cert.certificate.validToDate.toISOString()}${source.sendX5c ? ', sends x5c' : ''}`,
      validUntil: cert.certificate.validToDate,
    };
  } catch (error) {
    if (error instanceof CertificateError) throw certificateProblem(error, ref);
    throw error;
  }
}

async function loadSecret(secrets: KeyVaultSecrets, source: KeyVaultSource, name: string): Promise<LoadedCredential> {
  const ref = { vaultUrl: source.keyVaultUrl, name, setting: `${sourceSettingPrefix(source)}KeyVaultSecretName` };
  const secret = await secrets.read(ref);
  return { credential: { clientSecret: secret.value.trim() }, description: `KeyVault secret ${vaultObject(ref)}` };
}

/** SourceType KeyVault: a certificate when `KeyVaultCertificateName` is set (it wins over a secret name), else a client secret. */
export function keyVaultCredentialLoader(secrets: KeyVaultSecrets, now: () => Date = () => new Date()): CredentialLoader {
  return async (source) => {
    if (source.sourceType !== 'KeyVault') throw new Error('not a Key Vault source');
    if (source.certificateName) return loadCertificate(secrets, source, source.certificateName, now);
    if (source.secretName) return loadSecret(secrets, source, source.secretName);
    throw new Error('a Key Vault source names neither a secret nor a certificate');
  };
}
