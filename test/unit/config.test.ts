import { loadConfig } from '../../shared/config';
import { ConfigurationError } from '../../shared/errors';

const key = Buffer.alloc(32, 7).toString('base64url');
const base = {
  AzureAd__Authority: 'https://127.0.0.1:8443',
  AzureAd__ClientId: 'client-1',
  AzureAd__ClientCredentials__0__SourceType: 'ClientSecret',
  AzureAd__ClientCredentials__0__ClientSecret: 'shh-secret-value',
  AzureAd__RedirectUri: 'http://localhost:7071/api/redirect',
  TokenCache__ConnectionString: 'DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=a2V5;TableEndpoint=http://127.0.0.1:10002/devstoreaccount1;',
  Session__Keys: key,
  DownstreamApis__demo__BaseUrl: 'https://127.0.0.1:9443/',
  DownstreamApis__demo__Scopes: 'api://demo-api/Data.Read',
};

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
