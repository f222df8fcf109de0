import { createPrivateKey, generateKeyPairSync } from 'node:crypto';
import forge from 'node-forge';
import { nodeSigner, randomSerial } from '../../dev/tls';

/**
 * Self-signed client certificates in the shapes Key Vault hands out through a certificate's
 * secret: a PEM bundle (private key, then certificate) and a base64 PKCS#12 file without a
 * password. The app registration on the dev provider gets `certPem`.
 */
export interface TestClientCertificate {
  readonly certPem: string;
  /** PKCS#8. */
  readonly keyPem: string;
  /** As Key Vault's `application/x-pem-file` secret: key first, then the certificate. */
  readonly pemBundle: string;
  /** As Key Vault's `application/x-pkcs12` secret. */
  readonly pkcs12Base64: string;
}

export interface ClientCertificateOptions {
  readonly commonName?: string;
  readonly notBefore?: Date;
  readonly notAfter?: Date;
  /** PKCS#12 encryption; Key Vault's files use either. */
  readonly pkcs12Algorithm?: '3des' | 'aes256';
}

export function createClientCertificate(options: ClientCertificateOptions = {}): TestClientCertificate {
  const { privateKey: keyPem } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  const forgeKey = forge.pki.privateKeyFromPem(keyPem) as forge.pki.rsa.PrivateKey;
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.setRsaPublicKey(forgeKey.n, forgeKey.e);
  cert.serialNumber = randomSerial();
  cert.validity.notBefore = options.notBefore ?? new Date(Date.now() - 60 * 60 * 1000);
  cert.validity.notAfter = options.notAfter ?? new Date(Date.now() + 30 * 24 * 60 * 60 * 1000);
  const name = [{ name: 'commonName', value: options.commonName ?? 'token-handler-client' }];
  cert.setSubject(name);
  cert.setIssuer(name);
  cert.setExtensions([
    { name: 'basicConstraints', cA: false },
    { name: 'keyUsage', digitalSignature: true, critical: true },
  ]);
  cert.sign(nodeSigner(createPrivateKey(keyPem)), forge.md.sha256.create());
  const certPem = forge.pki.certificateToPem(cert).replace(/\r\n/g, '\n');
  let pkcs12: string | undefined;
  return {
    certPem,
    keyPem,
    pemBundle: `${keyPem.trim()}\n${certPem.trim()}\n`,
    // Built on first use: forge's password-based encryption is slow under jest.
    get pkcs12Base64() {
      pkcs12 ??= forge.util.encode64(forge.asn1.toDer(forge.pkcs12.toPkcs12Asn1(forgeKey, [cert], '', { algorithm: options.pkcs12Algorithm ?? 'aes256' })).getBytes());
      return pkcs12;
    },
  };
}
