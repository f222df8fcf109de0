import { X509Certificate, createHash, createPrivateKey } from 'node:crypto';
import forge from 'node-forge';
import { CertificateError, certificateCredential, checkValidity, parseCertificateSecret, PEM_CONTENT_TYPE, PKCS12_CONTENT_TYPE } from '../../shared/credentials/certificate';
import { createClientCertificate, type TestClientCertificate } from '../support/clientCertificates';

let cert: TestClientCertificate;
let thumbprint: string;

beforeAll(() => {
  cert = createClientCertificate();
  thumbprint = createHash('sha256').update(new X509Certificate(cert.certPem).raw).digest('hex');
});

const lf = (pem: string) => pem.replace(/\r\n/g, '\n').trim();

function expectCertificateError(run: () => unknown, code: CertificateError['code']): CertificateError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(CertificateError);
    expect((error as CertificateError).code).toBe(code);
    expect((error as Error).message).not.toMatch(/PRIVATE KEY|MII/);
    return error as CertificateError;
  }
  throw new Error('expected a CertificateError');
}

test('a PEM bundle gives a PKCS#8 key and the SHA-256 thumbprint MSAL needs', () => {
  const parsed = parseCertificateSecret(cert.pemBundle, PEM_CONTENT_TYPE);
  expect(parsed.privateKeyPem).toMatch(/^-----BEGIN PRIVATE KEY-----/);
  expect(lf(parsed.certificate.toString())).toBe(lf(cert.certPem));
  const credential = certificateCredential(parsed, false);
  expect(credential).toEqual({ clientCertificate: { thumbprintSha256: thumbprint, privateKey: parsed.privateKeyPem } });
});

test('a PKCS#1 key is converted to PKCS#8, and the certificate may come first', () => {
  const pkcs1 = createPrivateKey(cert.keyPem).export({ type: 'pkcs1', format: 'pem' }).toString();
  const parsed = parseCertificateSecret(`${cert.certPem}\n${pkcs1}`);
  expect(parsed.privateKeyPem).toMatch(/^-----BEGIN PRIVATE KEY-----/);
  expect(certificateCredential(parsed, false)).toMatchObject({ clientCertificate: { thumbprintSha256: thumbprint } });
});

test.each(['aes256', '3des'] as const)('a base64 PKCS#12 file (%s) without a password', (algorithm) => {
  const pfx = createClientCertificate({ pkcs12Algorithm: algorithm });
  const parsed = parseCertificateSecret(pfx.pkcs12Base64, PKCS12_CONTENT_TYPE);
  expect(lf(parsed.certificate.toString())).toBe(lf(pfx.certPem));
  expect(createPrivateKey(parsed.privateKeyPem).asymmetricKeyType).toBe('rsa');
});

test('a PKCS#12 file with an unencrypted key bag, recognised without a content type', () => {
  const key = forge.pki.privateKeyFromPem(cert.keyPem) as forge.pki.rsa.PrivateKey;
  const p12 = forge.pkcs12.toPkcs12Asn1(key, [forge.pki.certificateFromPem(cert.certPem)], null);
  const parsed = parseCertificateSecret(forge.util.encode64(forge.asn1.toDer(p12).getBytes()));
  expect(certificateCredential(parsed, false)).toMatchObject({ clientCertificate: { thumbprintSha256: thumbprint } });
});

test('x5c carries the certificate (PEM) when subject name/issuer authentication is on', () => {
  const credential = certificateCredential(parseCertificateSecret(cert.pemBundle), true) as { clientCertificate: { x5c?: string } };
  expect(lf(credential.clientCertificate.x5c ?? '')).toBe(lf(cert.certPem));
});

test('validity: NotBefore and NotAfter are checked', () => {
  const expired = createClientCertificate({ notBefore: new Date(Date.now() - 10 * 86400_000), notAfter: new Date(Date.now() - 86400_000) });
  const error = expectCertificateError(() => checkValidity(parseCertificateSecret(expired.pemBundle).certificate), 'client_certificate_expired');
  expect(error.message).toMatch(/expired on \d{4}-/);
  const future = createClientCertificate({ notBefore: new Date(Date.now() + 86400_000), notAfter: new Date(Date.now() + 10 * 86400_000) });
  expectCertificateError(() => checkValidity(parseCertificateSecret(future.pemBundle).certificate), 'client_certificate_not_yet_valid');
  expect(() => checkValidity(parseCertificateSecret(cert.pemBundle).certificate)).not.toThrow();
});

test.each([
  ['garbage', () => 'not a certificate at all'],
  ['a certificate without its key', () => cert.certPem],
  ['a key without a matching certificate', () => `${cert.keyPem}\n${createClientCertificate().certPem}`],
  ['an encrypted PEM key', () => '-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIB\n-----END ENCRYPTED PRIVATE KEY-----'],
])('refuses %s, without quoting it', (_, secret) => {
  expectCertificateError(() => parseCertificateSecret(secret()), 'client_certificate_invalid');
});
