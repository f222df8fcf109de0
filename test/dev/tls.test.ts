import { X509Certificate, createPrivateKey } from 'node:crypto';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import * as tls from 'node:tls';
import { createDevCertificates, trustCertificateAuthority } from '../../dev/tls';

const material = createDevCertificates();

test('the leaf is signed by the CA and covers the loopback names for a few days', () => {
  const ca = new X509Certificate(material.caCertPem);
  const leaf = new X509Certificate(material.certPem);
  expect(ca.ca).toBe(true);
  expect(leaf.ca).toBe(false);
  expect(leaf.verify(ca.publicKey)).toBe(true);
  expect(leaf.checkIssued(ca)).toBe(true);
  expect(leaf.checkIP('127.0.0.1')).toBe('127.0.0.1');
  expect(leaf.checkIP('::1')).toBeDefined();
  expect(leaf.checkHost('localhost')).toBe('localhost');
  expect(leaf.checkHost('example.com')).toBeUndefined();
  expect(leaf.checkPrivateKey(createPrivateKey(material.keyPem))).toBe(true);
  const days = (Date.parse(leaf.validTo) - Date.now()) / 86_400_000;
  expect(days).toBeGreaterThan(1);
  expect(days).toBeLessThan(8);
  expect(leaf.keyUsage).toContain('1.3.6.1.5.5.7.3.1');
});

test('each call makes a new CA', () => {
  expect(createDevCertificates().caCertPem).not.toBe(material.caCertPem);
});

test('after trusting the CA, fetch reaches an HTTPS server on 127.0.0.1 and localhost; trusting twice adds nothing', async () => {
  const server = createServer({ cert: material.certPem, key: material.keyPem }, (_req, res) => res.end('ok'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  try {
    await expect(fetch(`https://127.0.0.1:${port}/`)).rejects.toThrow();
    trustCertificateAuthority(material.caCertPem);
    const count = tls.getCACertificates('default').length;
    trustCertificateAuthority(material.caCertPem);
    expect(tls.getCACertificates('default')).toHaveLength(count);
    expect(await (await fetch(`https://127.0.0.1:${port}/`)).text()).toBe('ok');
    expect(await (await fetch(`https://localhost:${port}/`)).text()).toBe('ok');
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});
