import { constants, createPrivateKey, generateKeyPairSync, privateEncrypt, randomBytes, type KeyObject } from 'node:crypto';
import forge from 'node-forge';

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

// DER prefix of a DigestInfo holding a SHA-256 digest (RFC 8017 9.2, note 1).
const SHA256_DIGEST_INFO = Buffer.from('3031300d060960864801650304020105000420', 'hex');

/** forge builds the certificate, Node signs it: forge's own RSA is very slow inside jest. */
function nodeSigner(privateKey: KeyObject): forge.pki.rsa.PrivateKey {
  const sign = (md: forge.md.MessageDigest): string => {
    const digestInfo = Buffer.concat([SHA256_DIGEST_INFO, Buffer.from(md.digest().getBytes(), 'binary')]);
    return privateEncrypt({ key: privateKey, padding: constants.RSA_PKCS1_PADDING }, digestInfo).toString('binary');
  };
  return { sign } as unknown as forge.pki.rsa.PrivateKey;
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
  const serial = randomBytes(16);
  serial[0] = (serial[0]! & 0x7f) | 0x01;
  cert.serialNumber = serial.toString('hex');
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
