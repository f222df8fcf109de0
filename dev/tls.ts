import { constants, createPrivateKey, generateKeyPairSync, privateEncrypt, randomBytes, type KeyObject } from 'node:crypto';
import * as tls from 'node:tls';
import forge from 'node-forge';

/** A throwaway CA and a loopback server certificate it signed, all PEM. */
export interface DevCertificates {
  caCertPem: string;
  certPem: string;
  keyPem: string;
}

const VALID_DAYS = 3;
// Backdated so a clock that lags a little behind still accepts the certificate.
const BACKDATE_MS = 60 * 60 * 1000;

interface KeyPair {
  /** forge's view of the public key, to put in certificates. */
  publicKey: forge.pki.rsa.PublicKey;
  /** Node's view of the private key, to sign with. */
  privateKey: KeyObject;
  privateKeyPem: string;
}

/** Node generates the key: far faster than forge's pure-JS arithmetic. */
function generateRsaKeyPair(): KeyPair {
  const { privateKey: privateKeyPem } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  const forgeKey = forge.pki.privateKeyFromPem(privateKeyPem) as forge.pki.rsa.PrivateKey;
  return { publicKey: forge.pki.setRsaPublicKey(forgeKey.n, forgeKey.e), privateKey: createPrivateKey(privateKeyPem), privateKeyPem };
}

// DER prefix of a DigestInfo holding a SHA-256 digest (RFC 8017 9.2, note 1).
const SHA256_DIGEST_INFO = Buffer.from('3031300d060960864801650304020105000420', 'hex');

/**
 * forge builds the certificate and asks its key to sign; this key signs with Node's crypto instead
 * (RSASSA-PKCS1-v1_5 is a private-key operation on the DigestInfo): forge's own RSA takes seconds
 * under some runtimes, such as jest's module sandbox.
 */
export function nodeSigner(privateKey: KeyObject): forge.pki.rsa.PrivateKey {
  const sign = (md: forge.md.MessageDigest): string => {
    const digestInfo = Buffer.concat([SHA256_DIGEST_INFO, Buffer.from(md.digest().getBytes(), 'binary')]);
    return privateEncrypt({ key: privateKey, padding: constants.RSA_PKCS1_PADDING }, digestInfo).toString('binary');
  };
  return { sign } as unknown as forge.pki.rsa.PrivateKey;
}

/** Positive, non-zero 16-byte serial: a leading 0x01..0x7f byte keeps DER from reading it as negative. */
export function randomSerial(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0]! & 0x7f) | 0x01;
  return bytes.toString('hex');
}

function validity(cert: forge.pki.Certificate): void {
  const now = Date.now();
  cert.validity.notBefore = new Date(now - BACKDATE_MS);
  cert.validity.notAfter = new Date(now + VALID_DAYS * 24 * 60 * 60 * 1000);
}

function createCa(keys: KeyPair): forge.pki.Certificate {
  const cert = forge.pki.createCertificate();
  cert.publicKey = keys.publicKey;
  cert.serialNumber = randomSerial();
  validity(cert);
  const name = [{ name: 'commonName', value: 'Token handler dev CA' }, { name: 'organizationName', value: 'Dev only' }];
  cert.setSubject(name);
  cert.setIssuer(name);
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, pathLenConstraint: 0, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  cert.sign(nodeSigner(keys.privateKey), forge.md.sha256.create());
  return cert;
}

function createLeaf(keys: KeyPair, ca: forge.pki.Certificate, caKeys: KeyPair): forge.pki.Certificate {
  const cert = forge.pki.createCertificate();
  cert.publicKey = keys.publicKey;
  cert.serialNumber = randomSerial();
  validity(cert);
  cert.setSubject([{ name: 'commonName', value: '127.0.0.1' }]);
  cert.setIssuer(ca.subject.attributes);
  cert.setExtensions([
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: true },
    // Type 7 is an IP address, type 2 a DNS name (RFC 5280 GeneralName).
    { name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }, { type: 2, value: 'localhost' }, { type: 7, ip: '::1' }] },
    { name: 'subjectKeyIdentifier' },
    { name: 'authorityKeyIdentifier', keyIdentifier: ca.generateSubjectKeyIdentifier().getBytes() },
  ]);
  cert.sign(nodeSigner(caKeys.privateKey), forge.md.sha256.create());
  return cert;
}

/** A fresh CA and a leaf for 127.0.0.1, localhost and ::1, valid a few days. Nothing touches the disk. */
export function createDevCertificates(): DevCertificates {
  const caKeys = generateRsaKeyPair();
  const ca = createCa(caKeys);
  const leafKeys = generateRsaKeyPair();
  const leaf = createLeaf(leafKeys, ca, caKeys);
  return {
    caCertPem: forge.pki.certificateToPem(ca),
    certPem: forge.pki.certificateToPem(leaf),
    keyPem: leafKeys.privateKeyPem,
  };
}

const trusted = new Set<string>();

/**
 * Trusts the CA for this process only (global fetch, https, MSAL's client all read Node's default store).
 * Idempotent: a CA already added is not added again.
 */
export function trustCertificateAuthority(caCertPem: string): void {
  const pem = caCertPem.trim();
  if (trusted.has(pem)) return;
  const current = tls.getCACertificates('default');
  if (!current.some((cert) => cert.trim() === pem)) {
    tls.setDefaultCACertificates([...current, pem]);
  }
  trusted.add(pem);
}
