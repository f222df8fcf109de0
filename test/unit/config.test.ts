import { readFileSync } from 'node:fs';
import { isLoopbackHost, loadConfig } from '../../shared/config';
import { ConfigurationError } from '../../shared/errors';
import { describeConfigurationError } from '../../dev/configurationMessage';
import { MINIMAL_SETTINGS } from '../support/settings';

const key = Buffer.alloc(32, 7).toString('base64url');
const base = {
  ...MINIMAL_SETTINGS,
  AzureAd__Authority: 'https://127.0.0.1:8443',
  DownstreamApis__demo__BaseUrl: 'https://127.0.0.1:9443/',
  DownstreamApis__demo__Scopes: 'api://demo-api/Data.Read',
};

function errorOf(settings: Record<string, string | undefined>): ConfigurationError {
  try {
    loadConfig(settings);
  } catch (e) {
    if (e instanceof ConfigurationError) return e;
    throw e;
  }
  throw new Error('expected a ConfigurationError');
}

/** setting -> message, for the messages' wording. */
function messages(settings: Record<string, string | undefined>): Record<string, string> {
  return Object.fromEntries(errorOf(settings).problems.map((p) => [p.setting, p.message]));
}

function problems(settings: Record<string, string | undefined>): string[] {
  try {
    loadConfig(settings);
    return [];
  } catch (e) {
    if (!(e instanceof ConfigurationError)) throw e;
    return e.settings;
  }
}

describe('loadConfig', () => {
  test('a generic OpenID provider gets OIDC mode and its host as known authority', () => {
    const config = loadConfig(base);
    expect(config.authority).toMatchObject({ kind: 'oidc', url: 'https://127.0.0.1:8443', knownAuthorities: ['127.0.0.1:8443'] });
    expect(config.signInScopes).toEqual(['openid', 'profile', 'offline_access']);
    expect(config.postLogoutRedirectUri).toBe('http://localhost:7071/api/');
    expect(config.downstreamApis.get('demo')).toMatchObject({ baseUrl: 'https://127.0.0.1:9443/', scopes: ['api://demo-api/Data.Read'], requestAppToken: false });
    expect(config.tokenCache.tableName).toBe('TokenCache');
  });

  test('Entra from instance and tenant', () => {
    const { AzureAd__Authority: _, ...rest } = base;
    const config = loadConfig({ ...rest, AzureAd__TenantId: 'contoso.onmicrosoft.com', AzureAd__Scopes: 'User.Read' });
    expect(config.authority).toMatchObject({ kind: 'entra', url: 'https://login.microsoftonline.com/contoso.onmicrosoft.com' });
    expect(config.signInScopes).toContain('User.Read');
  });

  test('Azure AD B2C', () => {
    const { AzureAd__Authority: _, ...rest } = base;
    const config = loadConfig({ ...rest, AzureAd__Instance: 'https://contoso.b2clogin.com/', AzureAd__Domain: 'contoso.onmicrosoft.com', AzureAd__SignUpSignInPolicyId: 'B2C_1_susi' });
    expect(config.authority).toMatchObject({ kind: 'b2c', url: 'https://contoso.b2clogin.com/contoso.onmicrosoft.com/B2C_1_susi', knownAuthorities: ['contoso.b2clogin.com'] });
  });

  test('falls back to AzureWebJobsStorage identity settings', () => {
    const { TokenCache__ConnectionString: _, ...rest } = base;
    const config = loadConfig({ ...rest, AzureWebJobsStorage__accountName: 'stcontoso', AzureWebJobsStorage__clientId: 'mi-client' });
    expect(config.tokenCache.connection).toMatchObject({ kind: 'identity', tableServiceUri: 'https://stcontoso.table.core.windows.net', managedIdentityClientId: 'mi-client' });
  });

  test.each([
    ['AzureAd__ClientId', { AzureAd__ClientId: undefined }],
    ['AzureAd__Authority', { AzureAd__Authority: 'http://127.0.0.1:8443' }],
    ['AzureAd__RedirectUri', { AzureAd__RedirectUri: 'not a url' }],
    ['Session__Keys', { Session__Keys: 'short' }],
    ['Session__Keys', { Session__Keys: undefined }],
    ['DownstreamApis__demo__Scopes', { DownstreamApis__demo__Scopes: undefined }],
    ['AzureAd__ClientCredentials__0__SourceType', { AzureAd__ClientCredentials__0__SourceType: 'Password' }],
    ['TokenCache__ConnectionString', { TokenCache__ConnectionString: 'nonsense' }],
    ['TokenCache__TableName', { TokenCache__TableName: '1bad-name' }],
  ])('names %s when it is missing or malformed', (setting, change) => {
    expect(problems({ ...base, ...change })).toContain(setting);
  });

  test('the message never carries a setting\'s value', () => {
    try {
      loadConfig({ ...base, Session__Keys: 'very-secret-but-wrong' });
      throw new Error('expected a ConfigurationError');
    } catch (e) {
      expect(String((e as Error).message)).not.toContain('very-secret-but-wrong');
    }
  });

  test('several bad settings are reported together', () => {
    expect(problems({ ...base, AzureAd__ClientId: '', AzureAd__RedirectUri: 'x' })).toEqual(expect.arrayContaining(['AzureAd__ClientId', 'AzureAd__RedirectUri']));
  });
});

describe('settings messages: the setting, what is wrong, what would be right', () => {
  const example = JSON.parse(readFileSync('local.settings.example.json', 'utf8')) as { Values: Record<string, string> };

  test('an http Authority is refused for its scheme alone, without asking for the TenantId that it replaces', () => {
    const found = messages({ ...base, AzureAd__Authority: 'http://example.com' });
    expect(Object.keys(found)).toEqual(['AzureAd__Authority']);
    expect(found['AzureAd__Authority']).toMatch(/^uses http; use an https URL such as https:\/\//);
  });

  test('without Authority or TenantId, the message offers both ways', () => {
    const { AzureAd__Authority: _, ...rest } = base;
    expect(messages(rest)['AzureAd__TenantId']).toMatch(/^is missing; set it to the directory \(tenant\) id.*or set AzureAd__Authority/);
  });

  test('a short session key says which key, how long it is, how long it must be and how to make one', () => {
    const short = Buffer.alloc(16, 1).toString('base64url');
    const found = messages({ ...base, Session__Keys: `${key},${short}` });
    expect(found['Session__Keys']).toBe(
      `key 2 of 2 is 16 bytes long; each key must be 32 random bytes in base64url (43 characters); make one with: node -e "console.log(require('crypto').randomBytes(32).toString('base64url'))"`,
    );
    expect(messages({ ...base, Session__Keys: 'not+base64/url' })['Session__Keys']).toMatch(/^the key is not base64url .*; each key must be 32 random bytes/);
  });

  test('Key Vault source messages name the missing setting and the alternative, without stray punctuation', () => {
    const found = messages({
      ...base,
      AzureAd__ClientCredentials__0__SourceType: 'KeyVault',
      AzureAd__ClientCredentials__0__ClientSecret: undefined,
      AzureAd__ClientCredentials__0__KeyVaultUrl: 'kv.example',
    });
    expect(found['AzureAd__ClientCredentials__0__KeyVaultUrl']).toBe('is not an absolute URL; set it to one such as https://contoso-kv.vault.azure.net/');
    expect(found['AzureAd__ClientCredentials__0__KeyVaultCertificateName']).toMatch(/^is missing, and SourceType KeyVault needs it or AzureAd__ClientCredentials__0__KeyVaultSecretName; set one to/);
    expect(messages({ ...base, AzureAd__ClientCredentials__0__SourceType: 'KeyVault', AzureAd__ClientCredentials__0__KeyVaultUrl: 'https://kv.example/', AzureAd__ClientCredentials__0__KeyVaultSecretName: 'bad name!' })['AzureAd__ClientCredentials__0__KeyVaultSecretName']).toBe(
      'is not a Key Vault object name; use 1 to 127 letters, digits or dashes, such as app-client-secret',
    );
  });

  test('every message starts with what is wrong and says what would be right, and no hint contradicts another', () => {
    const { AzureAd__Authority: _, ...rest } = base;
    const all = errorOf({ ...rest, AzureAd__ClientId: '', AzureAd__RedirectUri: 'x', Session__Keys: 'short', DownstreamApis__demo__BaseUrl: 'http://example.com/', TokenCache__TableName: '1' }).problems;
    expect(all.length).toBeGreaterThanOrEqual(5);
    for (const { setting, message } of all) {
      expect(message).toMatch(/^(is|uses|has|names|holds|still|the key|key \d)/);
      expect(message).toMatch(/; (set|use|each|make)/);
      // A message about one setting never asks for that same setting again.
      expect(message).not.toContain(`or set ${setting}`);
    }
  });

  test('the example settings with only Session__Keys filled in are refused at start-up, every placeholder named at once', () => {
    const values = { ...example.Values, Session__Keys: key };
    expect(problems(values).sort()).toEqual(['AzureAd__ClientCredentials__0__ClientSecret', 'AzureAd__ClientId', 'AzureAd__TenantId']);
    expect(messages(values)['AzureAd__TenantId']).toMatch(/^still holds a placeholder from local.settings.example.json; set it to the directory \(tenant\) id/);
  });

  test('with nothing filled in, every problem is reported at once', () => {
    expect(problems(example.Values).sort()).toEqual(['AzureAd__ClientCredentials__0__ClientSecret', 'AzureAd__ClientId', 'AzureAd__TenantId', 'Session__Keys']);
    expect(problems({}).sort()).toEqual([
      'AzureAd__ClientCredentials__0__SourceType',
      'AzureAd__ClientId',
      'AzureAd__RedirectUri',
      'AzureAd__TenantId',
      'Session__Keys',
      'TokenCache__ConnectionString',
    ]);
  });

  test('B2C with neither instance nor domain names both', () => {
    const { AzureAd__Authority: _, ...rest } = base;
    expect(problems({ ...rest, AzureAd__SignUpSignInPolicyId: 'B2C_1_susi' })).toEqual(expect.arrayContaining(['AzureAd__Instance', 'AzureAd__Domain']));
  });

  test.each(['<your-tenant-id>', '{tenant-id}', 'your-tenant-id', 'TODO'])('the placeholder %s is refused', (value) => {
    const { AzureAd__Authority: _, ...rest } = base;
    expect(problems({ ...rest, AzureAd__TenantId: value })).toEqual(['AzureAd__TenantId']);
  });

  test('real values that look a little like placeholders are accepted', () => {
    const { AzureAd__Authority: _, ...rest } = base;
    expect(loadConfig({ ...rest, AzureAd__TenantId: 'yourcompany.onmicrosoft.com' }).authority.tenantId).toBe('yourcompany.onmicrosoft.com');
  });

  test.each([
    ['https://api.example.com/', true],
    ['http://localhost:5000/', true],
    ['http://127.0.0.1:5000/', true],
    ['http://[::1]:5000/', true],
    ['http://api.localhost/', true],
    ['http://example.com/', false],
    ['http://127.0.0.1.example.com/', false],
    ['http://localhost.example.com/', false],
  ])('DownstreamApis__x__BaseUrl %s accepted: %s (http only for loopback hosts)', (url, accepted) => {
    const settings = { ...base, DownstreamApis__x__BaseUrl: url, DownstreamApis__x__Scopes: 'api://x/.default' };
    if (accepted) expect(loadConfig(settings).downstreamApis.get('x')?.baseUrl).toBe(url);
    else expect(messages(settings)['DownstreamApis__x__BaseUrl']).toMatch(/^uses http on a host that is not loopback, so tokens would travel in clear; use https/);
  });

  test('loopback host detection', () => {
    expect(['localhost', '127.0.0.1', '127.1.2.3', '[::1]', 'app.localhost'].every(isLoopbackHost)).toBe(true);
    expect(['example.com', '128.0.0.1', 'localhost.evil.com', '::2'].some(isLoopbackHost)).toBe(false);
  });
});

describe('the start-up message', () => {
  test('lists every problem on its own line, with the setting first', () => {
    const error = new ConfigurationError([
      { setting: 'AzureAd__ClientId', message: 'is missing; set it to the application (client) id' },
      { setting: 'Session__Keys', message: 'holds no key; each key must be 32 random bytes' },
    ]);
    expect(describeConfigurationError(error).split('\n')).toEqual([
      'The configuration has 2 problems (settings come from the environment and local.settings.json "Values"):',
      '  - AzureAd__ClientId: is missing; set it to the application (client) id',
      '  - Session__Keys: holds no key; each key must be 32 random bytes',
    ]);
  });
});
