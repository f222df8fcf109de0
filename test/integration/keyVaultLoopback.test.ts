import { SecretClient } from '@azure/keyvault-secrets';
import { KeyVaultSecrets, relaxChallengeResourceCheck } from '../../shared/credentials/keyVaultSecrets';
import { createDevCertificates, trustCertificateAuthority } from '../../dev/tls';
import { startKeyVaultServer, staticTokenCredential, type KeyVaultServer } from '../support/keyVaultServer';

/**
 * A vault on a loopback host (a local Key Vault emulator) is read with the production options:
 * the SDK's challenge resource check, which a loopback vault cannot pass, is relaxed for loopback
 * hosts only.
 */
let vault: KeyVaultServer;
const credential = staticTokenCredential('emulator-token');

beforeAll(async () => {
  const tls = createDevCertificates();
  trustCertificateAuthority(tls.caCertPem);
  vault = await startKeyVaultServer({ tls, authorize: (token) => token === 'emulator-token' });
  vault.setSecret('app-secret', 'from-the-emulator');
});
afterAll(async () => {
  await vault?.close();
});

test.each([
  ['127.0.0.1', (url: string) => url],
  ['localhost', (url: string) => url.replace('127.0.0.1', 'localhost')],
])('a vault at https://%s reads with the default options', async (_host, toUrl) => {
  const secrets = new KeyVaultSecrets(() => credential);
  const secret = await secrets.read({ vaultUrl: toUrl(vault.url), name: 'app-secret', setting: 'AzureAd__ClientCredentials__0__KeyVaultUrl' });
  expect(secret.value).toBe('from-the-emulator');
});

test('without the relaxation the SDK refuses the same loopback vault (what the relaxation is for)', async () => {
  const strict = new SecretClient(vault.url, credential, { disableChallengeResourceVerification: false, retryOptions: { maxRetries: 0 } });
  await expect(strict.getSecret('app-secret')).rejects.toThrow(/challenge resource|resource/i);
});

test.each([
  ['https://contoso.vault.azure.net/', false],
  ['https://contoso.vault.usgovcloudapi.net/', false],
  ['https://localhost.contoso.com/', false],
  ['https://127.0.0.1.nip.io/', false],
  ['https://localhost:4997/', true],
  ['https://127.0.0.1:8443/', true],
  ['https://[::1]:8443/', true],
])('challenge resource check relaxed for %s: %s', (url, relaxed) => {
  expect(relaxChallengeResourceCheck(url)).toBe(relaxed);
});
