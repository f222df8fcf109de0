import { randomBytes } from 'node:crypto';
import type { Settings } from '../../shared/config';
import { PEM_CONTENT_TYPE, PKCS12_CONTENT_TYPE } from '../../shared/credentials/certificate';
import { startLocalStack, type LocalStack, type LocalStackOptions } from '../../dev/stack';
import { startAzuriteTable, type AzuriteTable } from '../../dev/azurite';
import { createDevCertificates, trustCertificateAuthority } from '../../dev/tls';
import { send } from '../support/browserless';
import { createClientCertificate } from '../support/clientCertificates';
import { startKeyVaultServer, type KeyVaultServer } from '../support/keyVaultServer';
import { VAULT_TOKEN, keyVaultCertificateSettings, keyVaultSecretSettings, newSessionKeys, signInAndCallApi, vaultRuntimeOptions } from '../support/credentialStack';
import { Signal } from '../support/signal';

/**
 * Each Key Vault source through the real flow: an HTTPS Key Vault on loopback (challenge flow,
 * bearer check), the dev OpenID provider checking the client's secret or the signature of its
 * client assertion against the registered certificate, Azurite, the function host. Nothing mocked.
 */
let vault: KeyVaultServer;
let azurite: AzuriteTable;
let stack: LocalStack | undefined;
let logs: string[];
const logged = new Signal();

beforeAll(async () => {
  const tls = createDevCertificates();
  trustCertificateAuthority(tls.caCertPem);
  vault = await startKeyVaultServer({ tls, authorize: (token) => token === VAULT_TOKEN });
  azurite = await startAzuriteTable();
});
afterAll(async () => {
  await stack?.close();
  await vault?.close();
  await azurite?.close();
});
beforeEach(() => {
  logs = [];
  vault.stats.reset();
});
afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

async function start(settings: Settings, client: NonNullable<LocalStackOptions['idp']>['client']): Promise<LocalStack> {
  stack = await startLocalStack({
    settings: { TokenCache__ConnectionString: azurite.connectionString, ...settings },
    port: 0,
    log: () => {},
    idp: { client },
    runtime: vaultRuntimeOptions((line) => {
      logs.push(line);
      logged.notify();
    }),
  });
  return stack;
}

async function problemAt(url: string): Promise<{ status: number; body: Record<string, unknown>; text: string }> {
  const answer = await send(url, undefined);
  const text = await answer.text();
  expect(answer.headers.get('content-type')).toBe('application/problem+json');
  return { status: answer.status, body: JSON.parse(text), text };
}

test('a client secret and the session keys, both held in Key Vault: sign-in and a proxied call', async () => {
  const secret = randomBytes(24).toString('base64url');
  const sessionKeys = newSessionKeys();
  vault.setSecret('app-secret', secret);
  vault.setSecret('session-keys', sessionKeys);
  await start(
    { ...keyVaultSecretSettings(vault, 'app-secret'), Session__KeyVaultUrl: vault.url, Session__KeyVaultSecretName: 'session-keys' },
    { clientSecret: secret },
  );

  await signInAndCallApi(stack!);
  // One read each, the first after Key Vault's 401 challenge; the SDK reuses the challenge after that.
  expect(vault.stats).toMatchObject({ reads: 2, challenges: 1, refused: 0 });
  expect((await stack!.runtime.get()).keyVault.reads).toBe(2);
  expect(logs).toContain(`client credential: AzureAd__ClientCredentials__0 (KeyVault secret ${vault.url}/secrets/app-secret)`);
  const everything = logs.join('\n');
  expect(everything).not.toContain(secret);
  expect(everything).not.toContain(sessionKeys.split(',')[0]);
});

test('a PEM certificate (application/x-pem-file): the provider verifies the PS256 assertion', async () => {
  const cert = createClientCertificate();
  vault.setSecret('app-cert', cert.pemBundle, { contentType: PEM_CONTENT_TYPE, certificate: true });
  // No secret on the app registration: only the certificate can sign the app in.
  await start(keyVaultCertificateSettings(vault, 'app-cert'), { clientSecret: [], certificatePem: cert.certPem });

  await signInAndCallApi(stack!);
  expect(vault.stats.reads).toBe(1);
  expect(logs.find((l) => l.startsWith('client credential: '))).toMatch(new RegExp(`KeyVault certificate ${vault.url}/secrets/app-cert, SHA-256 thumbprint [0-9a-f]{64}, valid until `));
  expect(logs.join('\n')).not.toMatch(/PRIVATE KEY/);
});

test('a source naming both a certificate and a secret uses the certificate and never reads the secret (Microsoft.Identity.Web\'s order)', async () => {
  const cert = createClientCertificate();
  vault.setSecret('app-cert', cert.pemBundle, { contentType: PEM_CONTENT_TYPE, certificate: true });
  vault.setSecret('app-secret', randomBytes(24).toString('base64url'));
  // The registration knows only the certificate: the secret, if tried, is refused.
  await start({ ...keyVaultCertificateSettings(vault, 'app-cert'), AzureAd__ClientCredentials__0__KeyVaultSecretName: 'app-secret' }, { clientSecret: [], certificatePem: cert.certPem });

  await signInAndCallApi(stack!);
  expect(vault.stats.reads).toBe(1);
  expect(logs.find((l) => l.startsWith('client credential: '))).toMatch(/^client credential: \S+ \(KeyVault certificate /);
});

test('a PKCS#12 certificate (application/x-pkcs12), sending x5c', async () => {
  const cert = createClientCertificate();
  vault.setSecret('app-pfx', cert.pkcs12Base64, { contentType: PKCS12_CONTENT_TYPE, certificate: true });
  await start(keyVaultCertificateSettings(vault, 'app-pfx', { sendX5c: true }), { clientSecret: [], certificatePem: cert.certPem });

  await signInAndCallApi(stack!);
  expect(vault.stats.reads).toBe(1);
  expect(logs.find((l) => l.startsWith('client credential: '))).toMatch(/sends x5c/);
});

test('an expired certificate: a start-up log line and a 503 naming the setting and the vault object', async () => {
  const expired = createClientCertificate({ notBefore: new Date(Date.now() - 30 * 86400_000), notAfter: new Date(Date.now() - 86400_000) });
  vault.setSecret('old-cert', expired.pemBundle, { contentType: PEM_CONTENT_TYPE, certificate: true });
  await start(keyVaultCertificateSettings(vault, 'old-cert'), { clientSecret: [], certificatePem: expired.certPem });

  const where = `AzureAd__ClientCredentials__0__KeyVaultCertificateName: ${vault.url}/secrets/old-cert`;
  // Loaded at start-up, in the background: the log names the setting and the vault object.
  await logged.until(() => logs.some((l) => l.includes('failed') && l.includes(where) && /expired on/.test(l)));
  const { status, body, text } = await problemAt(`${stack!.appUrl}/api/login`);
  expect(status).toBe(503);
  expect(body).toMatchObject({ code: 'client_credential_unavailable', sources: [{ setting: 'AzureAd__ClientCredentials__0', code: 'client_certificate_expired' }] });
  expect(body['detail']).toContain(where);
  expect(text).not.toMatch(/PRIVATE KEY|BEGIN CERTIFICATE/);
  expect(stack!.idp!.stats.requests.token).toBe(0);
});

test('a missing secret, then a vault that answers 403, then the fix: no restart needed', async () => {
  await start(keyVaultSecretSettings(vault, 'not-yet'), {});
  const login = `${stack!.appUrl}/api/login`;

  let problem = await problemAt(login);
  expect(problem.status).toBe(503);
  expect(problem.body).toMatchObject({ code: 'client_credential_unavailable', sources: [{ code: 'key_vault_secret_not_found' }] });
  expect(problem.body['detail']).toContain(`AzureAd__ClientCredentials__0__KeyVaultSecretName: ${vault.url}/secrets/not-yet does not exist`);

  const secret = stack!.devClient!.clientSecret;
  vault.setSecret('not-yet', secret);
  vault.denyAccess(true);
  problem = await problemAt(login);
  expect(problem.status).toBe(503);
  expect(problem.body).toMatchObject({ sources: [{ code: 'key_vault_access_denied' }] });
  expect(problem.body['detail']).toMatch(/HTTP 403.*Key Vault Secrets User/);
  expect(problem.text).not.toContain(secret);

  vault.denyAccess(false);
  await signInAndCallApi(stack!);
  expect(logs.join('\n')).not.toContain(secret);
});

test('several sources: the first that loads wins', async () => {
  const cert = createClientCertificate();
  vault.setSecret('fallback-cert', cert.pemBundle, { contentType: PEM_CONTENT_TYPE, certificate: true });
  await start({ ...keyVaultSecretSettings(vault, 'gone', 0), ...keyVaultCertificateSettings(vault, 'fallback-cert', { index: 1 }) }, { clientSecret: [], certificatePem: cert.certPem });

  await signInAndCallApi(stack!);
  expect(logs.some((l) => l.startsWith('client credential source 0 (KeyVault) failed') && l.includes('/secrets/gone'))).toBe(true);
  expect(logs.some((l) => l.startsWith('client credential: AzureAd__ClientCredentials__1 (KeyVault certificate'))).toBe(true);
});
