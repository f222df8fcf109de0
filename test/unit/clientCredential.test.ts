import type { ClientCredentialSource } from '../../shared/config';
import { loadConfig } from '../../shared/config';
import { ProblemError } from '../../shared/problems';
import { ClientCredentialProvider, clientSecretWarning, type CredentialLoader, type LoadedCredential } from '../../shared/credentials/clientCredential';

const keyVault = (index: number): ClientCredentialSource => ({ index, sourceType: 'KeyVault', keyVaultUrl: 'https://contoso.vault.azure.net/', secretName: `s${index}`, sendX5c: false });

function loaderFrom(results: ((source: ClientCredentialSource) => LoadedCredential)[]): CredentialLoader & { calls: number } {
  const loader = Object.assign(
    async (source: ClientCredentialSource) => {
      loader.calls++;
      await new Promise((resolve) => setImmediate(resolve)); // pending a turn, so concurrent callers overlap
      return results[Math.min(loader.calls - 1, results.length - 1)]!(source);
    },
    { calls: 0 },
  );
  return loader;
}

const secret = (value: string): LoadedCredential => ({ credential: { clientSecret: value }, description: 'test' });
const notFound = (source: ClientCredentialSource): never => {
  throw new ProblemError('key_vault_secret_not_found', `AzureAd__ClientCredentials__${source.index}__KeyVaultSecretName: gone.`);
};

test('the first source that loads wins; the failure is reported by setting and code', async () => {
  const loader: CredentialLoader = async (source) => (source.index === 0 ? notFound(source) : secret('second'));
  const lines: string[] = [];
  const provider = new ClientCredentialProvider([keyVault(0), keyVault(1)], { KeyVault: loader }, (line) => lines.push(line));
  expect(await provider.get()).toEqual({ clientSecret: 'second' });
  expect(lines[0]).toMatch(/^client credential source 0 \(KeyVault\) failed: AzureAd__ClientCredentials__0__KeyVaultSecretName: gone\.$/);
  expect(lines[1]).toBe('client credential: AzureAd__ClientCredentials__1 (test)');
});

test('when none loads: one 503 naming every source', async () => {
  const provider = new ClientCredentialProvider([keyVault(0), { index: 1, sourceType: 'SignedAssertionFromManagedIdentity' }], { KeyVault: async (s) => notFound(s) });
  await expect(provider.get()).rejects.toMatchObject({
    status: 503,
    code: 'client_credential_unavailable',
    extensions: { sources: [{ setting: 'AzureAd__ClientCredentials__0', code: 'key_vault_secret_not_found' }, { setting: 'AzureAd__ClientCredentials__1', code: 'credential_source_unsupported' }] },
  });
});

test('loaded once and kept; a failed load is not kept', async () => {
  const loader = loaderFrom([(s) => notFound(s), () => secret('v1')]);
  const provider = new ClientCredentialProvider([keyVault(0)], { KeyVault: loader });
  await expect(provider.get()).rejects.toBeInstanceOf(ProblemError);
  expect(await provider.get()).toEqual({ clientSecret: 'v1' });
  await Promise.all([provider.get(), provider.get(), provider.get()]);
  expect(loader.calls).toBe(2);
});

test('reload: concurrent callers holding the refused credential share one load', async () => {
  const loader = loaderFrom([() => secret('old'), () => secret('new')]);
  const provider = new ClientCredentialProvider([keyVault(0)], { KeyVault: loader });
  const refused = provider.get();
  await refused;
  const reloaded = await Promise.all([provider.reload(refused), provider.reload(refused), provider.reload(refused)]);
  expect(reloaded).toEqual([{ clientSecret: 'new' }, { clientSecret: 'new' }, { clientSecret: 'new' }]);
  // A late caller with the old promise does not trigger another load.
  expect(await provider.reload(refused)).toEqual({ clientSecret: 'new' });
  expect(loader.calls).toBe(2);
  expect(provider.loads).toBe(2);
});

test('a credential past its validUntil (a certificate\'s NotAfter) is loaded again, not before', async () => {
  let now = Date.UTC(2026, 11, 2);
  const clock = jest.spyOn(Date, 'now').mockImplementation(() => now);
  try {
    const loader = loaderFrom([() => ({ ...secret('expiring'), validUntil: new Date(now + 60_000) }), () => secret('renewed')]);
    const provider = new ClientCredentialProvider([keyVault(0)], { KeyVault: loader });
    expect(await provider.get()).toEqual({ clientSecret: 'expiring' });
    now += 59_999;
    expect(await provider.get()).toEqual({ clientSecret: 'expiring' });
    now += 1;
    expect(await provider.get()).toEqual({ clientSecret: 'renewed' });
  } finally {
    clock.mockRestore();
  }
});

describe('clientSecretWarning', () => {
  const settings = {
    AzureAd__Authority: 'https://127.0.0.1:8443',
    AzureAd__ClientId: 'client-1',
    AzureAd__ClientCredentials__0__SourceType: 'KeyVault',
    AzureAd__ClientCredentials__0__KeyVaultUrl: 'https://contoso.vault.azure.net/',
    AzureAd__ClientCredentials__0__KeyVaultSecretName: 'app-secret',
    AzureAd__ClientCredentials__1__SourceType: 'ClientSecret',
    AzureAd__ClientCredentials__1__ClientSecret: 'shh-plain-secret',
    AzureAd__RedirectUri: 'http://localhost:7071/api/redirect',
    TokenCache__ConnectionString: 'UseDevelopmentStorage=true',
    Session__Keys: Buffer.alloc(32, 1).toString('base64url'),
  };

  test('warns, without the value, when a plain secret may be used outside local development', () => {
    const warning = clientSecretWarning(loadConfig(settings));
    expect(warning).toMatch(/ClientSecret from app settings/);
    expect(warning).not.toContain('shh-plain-secret');
  });

  test('is quiet in local development and without a plain secret', () => {
    expect(clientSecretWarning(loadConfig({ ...settings, AZURE_FUNCTIONS_ENVIRONMENT: 'Development' }))).toBeUndefined();
    expect(clientSecretWarning(loadConfig({ ...settings, AzureAd__ClientCredentials__1__SourceType: undefined, AzureAd__ClientCredentials__1__ClientSecret: undefined }))).toBeUndefined();
  });
});
