import { parseBicep, syntaxProblems } from './bicep';
import {
  appSettings,
  checkAppSettings,
  checkKeyVaults,
  checkNoKeys,
  checkOutputs,
  checkRoleAssignments,
  checkSecureParameters,
  checkStorageAccounts,
  settingMatches,
  settingNamesInSource,
} from './checks';

// The checkers must be able to fail: each is fed a snippet with the fault it exists to catch.

const storage = (properties: string) => `
resource sa 'Microsoft.Storage/storageAccounts@2025-01-01' = {
  name: 'st'
  properties: {
${properties}
  }
}`;

const goodStorage = `
    allowSharedKeyAccess: false
    allowBlobPublicAccess: false
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true`;

describe('syntax', () => {
  test.each([
    ["resource sa 'Microsoft.Storage/storageAccounts@2025-01-01' = {\n  name: 'x'\n", 'unclosed object'],
    ["param p string =\nvar v = 1\n", 'missing default value'],
    ["var v = {\n  a: 1\n  b 2\n}\n", 'property without a colon'],
  ])('%j is rejected (%s)', async (source) => {
    expect(syntaxProblems(await parseBicep(source)).length).toBeGreaterThan(0);
  });
});

describe('storage accounts', () => {
  test('a compliant account passes', async () => {
    expect(checkStorageAccounts(await parseBicep(storage(goodStorage)))).toEqual([]);
  });

  test('allowSharedKeyAccess: true is caught', async () => {
    const problems = checkStorageAccounts(await parseBicep(storage(goodStorage.replace('allowSharedKeyAccess: false', 'allowSharedKeyAccess: true'))));
    expect(problems).toEqual([expect.stringMatching(/sa must set properties\.allowSharedKeyAccess: false \(found true\)/)]);
  });

  test('a missing or computed setting is caught too', async () => {
    const source = storage(goodStorage.replace("    minimumTlsVersion: 'TLS1_2'\n", '').replace('allowBlobPublicAccess: false', 'allowBlobPublicAccess: publicBlobs'));
    expect(checkStorageAccounts(await parseBicep(source))).toHaveLength(2);
  });

  test('an existing account is a reference, not checked', async () => {
    expect(checkStorageAccounts(await parseBicep("resource sa 'Microsoft.Storage/storageAccounts@2025-01-01' existing = {\n  name: 'st'\n}\n"))).toEqual([]);
  });
});

describe('key vaults', () => {
  const vault = (version: string, properties: string) => `
resource kv 'Microsoft.KeyVault/vaults@${version}' = {
  name: 'kv'
  properties: {
${properties}
  }
}`;
  const good = '    enableRbacAuthorization: true\n    enableSoftDelete: true\n    enablePurgeProtection: true';

  test('a compliant vault passes', async () => {
    expect(checkKeyVaults(await parseBicep(vault('2026-02-01', good)))).toEqual([]);
  });

  test('an API version that retires in 2027 is caught, also on an existing reference', async () => {
    expect(checkKeyVaults(await parseBicep(vault('2024-11-01', good)))).toEqual([expect.stringMatching(/2024-11-01; use 2026-02-01/)]);
    expect(checkKeyVaults(await parseBicep("resource kv 'Microsoft.KeyVault/vaults@2023-07-01' existing = {\n  name: 'kv'\n}\n"))).toHaveLength(1);
  });

  test('access policies instead of RBAC, or no purge protection, is caught', async () => {
    const source = vault('2026-02-01', good.replace('enableRbacAuthorization: true', 'enableRbacAuthorization: false').replace('    enablePurgeProtection: true', ''));
    expect(checkKeyVaults(await parseBicep(source))).toHaveLength(2);
  });
});

describe('role assignments', () => {
  const assignment = (roleExpression: string, principal: string, name = 'guid(sa.id, identityPrincipalId, roles.blob)') => `
param identityPrincipalId string
param somebody string
var roles = {
  blob: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
  invented: '11111111-2222-3333-4444-555555555555'
}
resource sa 'Microsoft.Storage/storageAccounts@2025-01-01' existing = {
  name: 'st'
}
resource ra 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: ${name}
  scope: sa
  properties: {
    roleDefinitionId: ${roleExpression}
    principalId: ${principal}
    principalType: 'ServicePrincipal'
  }
}`;
  const byId = (role: string) => `subscriptionResourceId('Microsoft.Authorization/roleDefinitions', ${role})`;

  test('a known role for the identity passes, through a var or a literal', async () => {
    expect(checkRoleAssignments(await parseBicep(assignment(byId('roles.blob'), 'identityPrincipalId')), ['identityPrincipalId'])).toEqual([]);
    expect(checkRoleAssignments(await parseBicep(assignment(byId("'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'"), 'identityPrincipalId')), ['identityPrincipalId'])).toEqual([]);
  });

  test('an unknown role definition id is caught', async () => {
    const problems = checkRoleAssignments(await parseBicep(assignment(byId('roles.invented'), 'identityPrincipalId')), ['identityPrincipalId']);
    expect(problems).toEqual([expect.stringMatching(/known built-in role id.*11111111/)]);
  });

  test('a role id that is not a role definition resource id is caught', async () => {
    const problems = checkRoleAssignments(await parseBicep(assignment("resourceId('Microsoft.Foo/bars', roles.blob)", 'identityPrincipalId')), ['identityPrincipalId']);
    expect(problems).toHaveLength(1);
  });

  test('another principal, or a literal object id, is caught', async () => {
    expect(checkRoleAssignments(await parseBicep(assignment(byId('roles.blob'), 'somebody', 'guid(sa.id, somebody, roles.blob)')), ['identityPrincipalId'])).toHaveLength(1);
    expect(checkRoleAssignments(await parseBicep(assignment(byId('roles.blob'), "'00000000-0000-0000-0000-000000000000'")), ['identityPrincipalId']).length).toBeGreaterThan(0);
  });

  test('a name that does not derive from the principal is caught', async () => {
    expect(checkRoleAssignments(await parseBicep(assignment(byId('roles.blob'), 'identityPrincipalId', "'fixed-name'")), ['identityPrincipalId'])).toHaveLength(1);
  });
});

describe('parameters and outputs', () => {
  test('a @secure() parameter with a default is caught', async () => {
    const file = await parseBicep("@secure()\nparam adminPassword string = 'P@ssw0rd!'\n@secure()\nparam fine string\n");
    expect(checkSecureParameters(file)).toEqual([expect.stringMatching(/adminPassword is @secure\(\)/)]);
  });

  test('an output of listKeys(), of a secure parameter, or named like a password is caught', async () => {
    const file = await parseBicep(`
@secure()
param token string
resource sa 'Microsoft.Storage/storageAccounts@2025-01-01' existing = {
  name: 'st'
}
output key string = sa.listKeys().keys[0].value
output echo string = 'value: \${token}'
output adminPassword string = 'x'
output blobEndpoint string = sa.properties.primaryEndpoints.blob
`);
    const problems = checkOutputs(file);
    expect(problems.some((p) => p.includes('key outputs the result of a list*() call'))).toBe(true);
    expect(problems.some((p) => p.includes('echo outputs a @secure() parameter'))).toBe(true);
    expect(problems.some((p) => p.includes('adminPassword: the output name suggests a secret'))).toBe(true);
    expect(problems.some((p) => p.includes('blobEndpoint'))).toBe(false);
  });

  test('listKeys() or an AccountKey connection string anywhere is caught', async () => {
    const file = await parseBicep(`
resource sa 'Microsoft.Storage/storageAccounts@2025-01-01' existing = {
  name: 'st'
}
var conn = 'DefaultEndpointsProtocol=https;AccountName=st;AccountKey=\${sa.listKeys().keys[0].value}'
`);
    expect(checkNoKeys(file)).toHaveLength(2);
  });
});

describe('app settings', () => {
  const site = (settings: string) => `
param identityClientId string
var extra = {
  FromVar: 'x'
}
resource site 'Microsoft.Web/sites@2024-11-01' = {
  name: 'app'
  resource cfg 'config' = {
    name: 'appsettings'
    properties: union(extra, {
${settings}
    }, empty(identityClientId) ? {} : { Conditional__Setting: identityClientId })
  }
}`;

  test('settings are read through vars, union() and ternaries', async () => {
    const file = await parseBicep(site("      AzureWebJobsStorage__credential: 'managedidentity'"));
    expect([...appSettings(file).keys()].sort()).toEqual(['AzureWebJobsStorage__credential', 'Conditional__Setting', 'FromVar']);
  });

  test('a storage connection string with an account key is caught', async () => {
    const file = await parseBicep(site("      AzureWebJobsStorage: 'DefaultEndpointsProtocol=https;AccountName=st;AccountKey=abc'\n      TokenCache__ConnectionString: 'x'"));
    const problems = checkAppSettings(file, appSettings(file));
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/AzureWebJobsStorage is a connection string/),
        expect.stringMatching(/AzureWebJobsStorage carries a key/),
        expect.stringMatching(/TokenCache__ConnectionString is a connection string/),
      ]),
    );
  });

  test('a setting Flex Consumption rejects is caught', async () => {
    const file = await parseBicep(site("      FUNCTIONS_WORKER_RUNTIME: 'node'\n      WEBSITE_RUN_FROM_PACKAGE: '1'"));
    expect(checkAppSettings(file, appSettings(file))).toHaveLength(2);
  });
});

describe('setting names in TypeScript', () => {
  test('literals, template literals and prefix consts are read, scoped to their block', () => {
    const source = `
      const a = env['AzureAd__ClientId'];
      function credentials(i: number) {
        const prefix = \`AzureAd__ClientCredentials__\${i}__\`;
        return [read(\`\${prefix}SourceType\`), read(\`AzureAd__ClientCredentials__\${i}__KeyVaultUrl\`)];
      }
      function apis(name: string) {
        const prefix = \`DownstreamApis__\${name}__\`;
        return read(\`\${prefix}BaseUrl\`);
      }
      // "AzureAd__InAComment" is not code; 'Other__Setting' has another prefix.
      const prefixOnly = r.childNames('AzureAd__ClientCredentials__');
    `;
    expect(settingNamesInSource(source)).toEqual([
      'AzureAd__ClientCredentials__*__KeyVaultUrl',
      'AzureAd__ClientCredentials__*__SourceType',
      'AzureAd__ClientId',
      'DownstreamApis__*__BaseUrl',
    ]);
  });

  test('patterns match concrete names; a typo does not', () => {
    expect(settingMatches('AzureAd__ClientCredentials__*__SourceType', 'AzureAd__ClientCredentials__0__SourceType')).toBe(true);
    expect(settingMatches('DownstreamApis__*__BaseUrl', 'DownstreamApis__*__BaseUrl')).toBe(true);
    expect(settingMatches('AzureAd__ClientId', 'AzureAd__ClientID')).toBe(true);
    expect(settingMatches('AzureAd__ClientId', 'AzureAd__ClientIds')).toBe(false);
    expect(settingMatches('TokenCache__TableServiceUri', 'TokenCache__TableServiceUrl')).toBe(false);
  });
});
