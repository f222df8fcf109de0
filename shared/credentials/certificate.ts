import { X509Certificate, createHash, createPrivateKey, type KeyObject } from 'node:crypto';
import { join } from 'node:path';
import type forgeModule from 'node-forge';

// Set by scripts/build.mjs for the deployment: node-forge is a bundle of its own (forge.js beside
// the handlers), so a cold start neither reads nor compiles it.
declare const FORGE_BUNDLE: string | undefined;

/** node-forge (PKCS#12 only) loads when a certificate is opened, not with the app. */
function nodeForge(): typeof forgeModule {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require(typeof FORGE_BUNDLE === 'string' ? join(__dirname, FORGE_BUNDLE) : 'node-forge') as typeof forgeModule;
}
import type { MsalClientCredential } from './clientCredential';

/**
 * A client certificate as Key Vault hands it out through the secret of the certificate's name:
 * PEM (private key and certificates) when the certificate policy's content type is
 * `application/x-pem-file`, base64 PKCS#12 without a password otherwise. Node's crypto does the
 * parsing and the checks; node-forge only opens the PKCS#12 container.
 */
export interface ClientCertificate {
  /** PKCS#8 PEM, what MSAL signs its assertions with. */
  readonly privateKeyPem: string;
  /** The certificate whose public key matches the private key. */
  readonly certificate: X509Certificate;
  /** Other certificates found beside it (intermediates), in their order. */
  readonly chain: readonly X509Certificate[];
}

export type CertificateErrorCode = 'client_certificate_invalid' | 'client_certificate_expired' | 'client_certificate_not_yet_valid';

/** What is wrong with a certificate; the message describes its shape or dates, never its key. */
export class CertificateError extends Error {
  constructor(
    readonly code: CertificateErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'CertificateError';
  }
}

export const PEM_CONTENT_TYPE = 'application/x-pem-file';
export const PKCS12_CONTENT_TYPE = 'application/x-pkcs12';

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----[\s\S]+?-----END \1-----/g;
const PRIVATE_KEY_LABELS = new Set(['PRIVATE KEY', 'RSA PRIVATE KEY', 'EC PRIVATE KEY']);

function invalid(message: string): CertificateError {
  return new CertificateError('client_certificate_invalid', message);
}

function parsePem(pem: string): { keys: KeyObject[]; certificates: X509Certificate[] } {
  const keys: KeyObject[] = [];
  const certificates: X509Certificate[] = [];
  for (const match of pem.matchAll(PEM_BLOCK)) {
    const [block, label] = match as unknown as [string, string];
    if (label === 'CERTIFICATE') certificates.push(new X509Certificate(block));
    else if (PRIVATE_KEY_LABELS.has(label)) keys.push(createPrivateKey(block));
    else if (label === 'ENCRYPTED PRIVATE KEY') throw invalid('the PEM private key is encrypted (Key Vault exports it unencrypted)');
  }
  return { keys, certificates };
}

/** Opens a PKCS#12 file; Key Vault's have no password, which PKCS#12 spells as empty or absent. */
function openPkcs12(base64: string): forgeModule.pkcs12.Pkcs12Pfx {
  const forge = nodeForge();
  const der = forge.util.decode64(base64.replace(/\s+/g, ''));
  let asn1: forgeModule.asn1.Asn1;
  try {
    asn1 = forge.asn1.fromDer(der);
  } catch {
    throw invalid('the secret is neither PEM nor base64 PKCS#12');
  }
  for (const password of ['', undefined]) {
    try {
      return forge.pkcs12.pkcs12FromAsn1(asn1, false, password);
    } catch {
      // try the other spelling of "no password"
    }
  }
  throw invalid('the PKCS#12 file could not be opened without a password');
}

function parsePkcs12(base64: string): { keys: KeyObject[]; certificates: X509Certificate[] } {
  const pfx = openPkcs12(base64);
  const forge = nodeForge();
  const keys: KeyObject[] = [];
  const certificates: X509Certificate[] = [];
  for (const bag of pfx.safeContents.flatMap((contents) => contents.safeBags)) {
    if (bag.type === forge.pki.oids['certBag']) {
      const asn1 = bag.cert ? forge.pki.certificateToAsn1(bag.cert) : bag.asn1;
      certificates.push(new X509Certificate(Buffer.from(forge.asn1.toDer(asn1).getBytes(), 'binary')));
    } else if (bag.type === forge.pki.oids['pkcs8ShroudedKeyBag'] || bag.type === forge.pki.oids['keyBag']) {
      // forge reads RSA keys itself; any other key type stays a PrivateKeyInfo structure.
      const asn1 = bag.key ? forge.pki.wrapRsaPrivateKey(forge.pki.privateKeyToAsn1(bag.key)) : bag.asn1;
      keys.push(createPrivateKey({ key: Buffer.from(forge.asn1.toDer(asn1).getBytes(), 'binary'), format: 'der', type: 'pkcs8' }));
    }
  }
  return { keys, certificates };
}

/** Reads a certificate secret in either of Key Vault's formats (the content type decides, else the content). */
export function parseCertificateSecret(value: string, contentType?: string): ClientCertificate {
  const looksPem = contentType === PEM_CONTENT_TYPE || (contentType !== PKCS12_CONTENT_TYPE && value.includes('-----BEGIN '));
  let parsed: { keys: KeyObject[]; certificates: X509Certificate[] };
  try {
    parsed = looksPem ? parsePem(value) : parsePkcs12(value);
  } catch (error) {
    if (error instanceof CertificateError) throw error;
    throw invalid(`the ${looksPem ? 'PEM' : 'PKCS#12'} content could not be read`);
  }
  const key = parsed.keys[0];
  if (!key) throw invalid('it holds no private key (a certificate with a non-exportable key cannot be read as a secret)');
  if (key.asymmetricKeyType !== 'rsa') throw invalid(`its key is ${key.asymmetricKeyType ?? 'of an unknown type'}; client assertions need an RSA key`);
  const certificate = parsed.certificates.find((cert) => cert.checkPrivateKey(key));
  if (!certificate) throw invalid('no certificate in it matches its private key');
  return {
    privateKeyPem: key.export({ type: 'pkcs8', format: 'pem' }).toString(),
    certificate,
    chain: parsed.certificates.filter((cert) => cert !== certificate),
  };
}

/** Refuses a certificate outside its validity period: the provider would refuse it too, less clearly. */
export function checkValidity(certificate: X509Certificate, now: Date = new Date()): void {
  if (now < certificate.validFromDate) {
    throw new CertificateError('client_certificate_not_yet_valid', `the certificate (SHA-256 thumbprint ${sha256Thumbprint(certificate)}) is not valid before ${certificate.validFromDate.toISOString()}`);
  }
  if (now > certificate.validToDate) {
    throw new CertificateError('client_certificate_expired', `the certificate (SHA-256 thumbprint ${sha256Thumbprint(certificate)}) expired on ${certificate.validToDate.toISOString()}`);
  }
}

/** Hex SHA-256 of the DER certificate: MSAL's `thumbprintSha256` (it then signs PS256 with `x5t#S256`). */
export function sha256Thumbprint(certificate: X509Certificate): string {
  return createHash('sha256').update(certificate.raw).digest('hex');
}

/**
 * MSAL's certificate credential. `x5c` (the certificate and its chain, PEM) goes in the assertion
 * header when the app registration trusts the certificate by subject name and issuer (SNI).
 */
export function certificateCredential(cert: ClientCertificate, sendX5c: boolean): MsalClientCredential {
  const x5c = sendX5c ? [cert.certificate, ...cert.chain].map((c) => c.toString()).join('\n') : undefined;
  return {
    clientCertificate: {
      thumbprintSha256: sha256Thumbprint(cert.certificate),
      privateKey: cert.privateKeyPem,
      ...(x5c ? { x5c } : {}),
    },
  };
}
