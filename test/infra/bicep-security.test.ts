import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  type BicepFile,
  INFRA_DIR,
  declaration,
  declarations,
  declaredValue,
  infraBicepPaths,
  literal,
  loadInfraFile,
  property,
  resources,
  resourcesOfType,
  stringValue,
} from './bicep';
import {
  BUILT_IN_ROLES,
  appSettings,
  checkKeyVaults,
  checkNoKeys,
  checkOutputs,
  checkRoleAssignments,
  checkSecureParameters,
  checkStorageAccounts,
  roleAssignments,
} from './checks';

// The security settings of the issue, read from the parse tree of the real templates.

const files = new Map<string, BicepFile>();

beforeAll(async () => {
  for (const path of infraBicepPaths()) files.set(path, await loadInfraFile(path));
});

const file = (path: string): BicepFile => {
  const loaded = files.get(path);
  if (!loaded) throw new Error(`${path} was not loaded`);
  return loaded;
};
const all = (): BicepFile[] => [...files.values()];
const only = <T>(items: readonly T[]): T => {
  expect(items).toHaveLength(1);
  return items[0] as T;
};

describe('every template', () => {
  test('the checks below have something to check (none passes on an empty set)', () => {
    const created = (type: string) => all().flatMap((f) => resourcesOfType(f, type).filter((r) => !r.existing));
    expect(created('Microsoft.Storage/storageAccounts')).toHaveLength(1);
    expect(created('Microsoft.KeyVault/vaults')).toHaveLength(1);
    expect(created('Microsoft.Authorization/roleAssignments').length).toBeGreaterThanOrEqual(4);
    expect(all().flatMap((f) => declarations(f).filter((d) => d.kind === 'output')).length).toBeGreaterThan(15);
    expect(appSettings(file('app/api.bicep')).size).toBeGreaterThan(20);
  });

  test('storage accounts: no shared keys, no public blobs, TLS 1.2, HTTPS only', () => {
    expect(all().flatMap(checkStorageAccounts)).toEqual([]);
  });

  test('key vaults: RBAC, soft delete, purge protection, a control-plane API version that does not retire', () => {
    expect(all().flatMap(checkKeyVaults)).toEqual([]);
  });

  test('no output carries a secret', () => {
    expect(all().flatMap(checkOutputs)).toEqual([]);
  });

  test('@secure() parameters have no default', () => {
    expect(all().flatMap(checkSecureParameters)).toEqual([]);
  });

  test('no account key, SAS or key-based connection string anywhere', () => {
    expect(all().flatMap(checkNoKeys)).toEqual([]);
  });

  test('API versions are dated releases, not previews, and recent enough for the properties used', () => {
    // The oldest version each type may use here: the properties set need them (or, for Key Vault, retirement).
    const minimum: Record<string, string> = {
      'microsoft.web/sites': '2023-12-01',
      'microsoft.web/serverfarms': '2023-12-01',
      'microsoft.keyvault/vaults': '2026-02-01',
      'microsoft.storage/storageaccounts': '2023-01-01',
      'microsoft.authorization/roleassignments': '2022-04-01',
    };
    // Diagnostic settings have no dated release newer than 2016-09-01, an older type without workspaceId.
    const previewOnly: Record<string, string> = { 'microsoft.insights/diagnosticsettings': '2021-05-01-preview' };
    for (const bicep of all()) {
      for (const r of resources(bicep).filter((x) => x.type.startsWith('Microsoft.') && !x.type.startsWith('Microsoft.Graph/'))) {
        const floor = Object.entries(minimum).find(([type]) => r.type.toLowerCase().startsWith(type))?.[1] ?? '2020-01-01';
        const preview = previewOnly[r.type.toLowerCase()];
        expect({ resource: `${bicep.path}: ${r.symbol}`, version: r.apiVersion }).toEqual({
          resource: `${bicep.path}: ${r.symbol}`,
          version: preview ?? expect.stringMatching(/^\d{4}-\d{2}-\d{2}$/),
        });
        expect(r.apiVersion >= floor).toBe(true);
      }
    }
  });
});

describe('managed identity and role assignments', () => {
  const principalParams = ['identityPrincipalId', 'userPrincipalId'];

  test('every role assignment names a known built-in role and the identity (or the deployer) by parameter', () => {
    const rbac = file('app/rbac.bicep');
    expect(checkRoleAssignments(rbac, principalParams)).toEqual([]);
    // No other file assigns roles: one place to review.
    expect(all().filter((f) => f !== rbac).flatMap((f) => resourcesOfType(f, 'Microsoft.Authorization/roleAssignments'))).toEqual([]);
  });

  test('the identity holds exactly the roles the host and the app use, on the right resources', () => {
    const granted = roleAssignments(file('app/rbac.bicep'))
      .filter((a) => a.principal === 'identityPrincipalId')
      .map((a) => `${BUILT_IN_ROLES[a.roleId ?? ''] ?? a.roleId} on ${a.scope}`)
      .sort();
    expect(granted).toEqual([
      'Key Vault Secrets User on vault',
      'Monitoring Metrics Publisher on applicationInsights',
      'Storage Blob Data Owner on storageAccount',
      'Storage Table Data Contributor on storageAccount',
    ]);
  });

  test("the deployer's roles are optional and limited to data roles", () => {
    const rbac = file('app/rbac.bicep');
    const userAssignments = resourcesOfType(rbac, 'Microsoft.Authorization/roleAssignments').filter((r) => property(r.body, 'properties.principalId')?.text === 'userPrincipalId');
    expect(userAssignments.length).toBeGreaterThan(0);
    expect(userAssignments.filter((r) => !r.conditional).map((r) => r.symbol)).toEqual([]);
    const roles = roleAssignments(rbac).filter((a) => a.principal === 'userPrincipalId').map((a) => BUILT_IN_ROLES[a.roleId ?? '']);
    expect(roles.sort()).toEqual(['Key Vault Secrets Officer', 'Storage Blob Data Owner', 'Storage Table Data Contributor']);
  });

  test("the deployer's storage data roles (the token cache table) are opt-in: allowUserIdentityPrincipal, off by default", () => {
    const rbac = file('app/rbac.bicep');
    const storageRoles = resourcesOfType(rbac, 'Microsoft.Authorization/roleAssignments').filter(
      (r) => property(r.body, 'properties.principalId')?.text === 'userPrincipalId' && property(r.body, 'scope')?.text === 'storageAccount',
    );
    expect(storageRoles.map((r) => r.symbol).sort()).toEqual(['userBlobOwner', 'userTableContributor']);
    for (const r of storageRoles) expect(r.node.text).toMatch(/= if \(withUserStorage\)/);
    expect(rbac.source).toMatch(/var withUserStorage = withUser && allowUserIdentityPrincipal/);
    for (const f of ['app/rbac.bicep', 'main.bicep']) expect(declaredValue(declaration(file(f), 'param', 'allowUserIdentityPrincipal')!)?.text).toBe('false');
    const rbacCall = declaration(file('main.bicep'), 'module', 'rbac');
    expect(property(rbacCall?.node.descendantsOfType('object')[0], 'params.allowUserIdentityPrincipal')?.text).toBe('allowUserIdentityPrincipal');
  });

  test('main.bicep hands the user-assigned identity principal to rbac and the deployer to the optional slot', () => {
    const rbacCall = declaration(file('main.bicep'), 'module', 'rbac');
    const body = rbacCall?.node.descendantsOfType('object')[0];
    expect(property(body, 'params.identityPrincipalId')?.text).toBe('identity.outputs.principalId');
    expect(property(body, 'params.userPrincipalId')?.text).toBe('principalId');
    expect(declaredValue(declaration(file('main.bicep'), 'param', 'principalId')!)?.text).toBe("''");
  });

  test('one user-assigned identity runs the app, its deployment and its storage connections', () => {
    const identities = all().flatMap((f) => resourcesOfType(f, 'Microsoft.ManagedIdentity/userAssignedIdentities').filter((r) => !r.existing));
    expect(identities).toHaveLength(1);
    const site = only(resourcesOfType(file('app/api.bicep'), 'Microsoft.Web/sites'));
    expect(literal(property(site.body, 'identity.type'))).toBe('UserAssigned');
    expect(literal(property(site.body, 'properties.functionAppConfig.deployment.storage.authentication.type'))).toBe('UserAssignedIdentity');
    expect(property(site.body, 'properties.functionAppConfig.deployment.storage.authentication.userAssignedIdentityResourceId')?.text).toBe('identityId');
  });
});

describe('function app', () => {
  const api = () => file('app/api.bicep');
  const site = () => only(resourcesOfType(api(), 'Microsoft.Web/sites'));

  test('runs on a Flex Consumption (FC1) Linux plan', () => {
    const plan = only(resourcesOfType(api(), 'Microsoft.Web/serverfarms'));
    expect(literal(property(plan.body, 'sku.name'))).toBe('FC1');
    expect(literal(property(plan.body, 'sku.tier'))).toBe('FlexConsumption');
    expect(literal(property(plan.body, 'properties.reserved'))).toBe(true);
    expect(literal(property(site().body, 'kind'))).toBe('functionapp,linux');
  });

  test('HTTPS only, TLS 1.2, FTP off, no publishing passwords', () => {
    expect(literal(property(site().body, 'properties.httpsOnly'))).toBe(true);
    expect(literal(property(site().body, 'properties.siteConfig.minTlsVersion'))).toBe('1.2');
    expect(literal(property(site().body, 'properties.siteConfig.ftpsState'))).toBe('Disabled');
    const policies = resourcesOfType(api(), 'Microsoft.Web/sites/basicPublishingCredentialsPolicies');
    expect(policies.map((p) => [literal(property(p.body, 'name')), literal(property(p.body, 'properties.allow'))]).sort()).toEqual([
      ['ftp', false],
      ['scm', false],
    ]);
  });

  test('Node 22 or 24 through functionAppConfig.runtime', () => {
    expect(literal(property(site().body, 'properties.functionAppConfig.runtime.name'))).toBe('node');
    const version = property(site().body, 'properties.functionAppConfig.runtime.version');
    const param = declaration(api(), 'param', version?.text ?? '');
    expect(param?.decorators).toContain('allowed');
    const allowed = param?.node.previousNamedSibling?.descendantsOfType('string').map((s) => stringValue(s));
    expect(allowed).toEqual(['22', '24']);
  });

  test('instance memory, maximum instances and an optional always-ready HTTP instance are parameters', () => {
    const scale = property(site().body, 'properties.functionAppConfig.scaleAndConcurrency');
    expect(property(scale, 'instanceMemoryMB')?.text).toBe('instanceMemoryMB');
    expect(property(scale, 'maximumInstanceCount')?.text).toBe('maximumInstanceCount');
    const alwaysReady = property(scale, 'alwaysReady');
    expect(alwaysReady?.type).toBe('ternary_expression');
    expect(alwaysReady?.text).toMatch(/alwaysReadyHttpInstances > 0/);
    expect(alwaysReady?.descendantsOfType('string').map((s) => stringValue(s))).toContain('http');
    expect(declaredValue(declaration(api(), 'param', 'alwaysReadyHttpInstances')!)?.text).toBe('0');
  });

  test('deploys from a blob container of the storage account', () => {
    const storage = property(site().body, 'properties.functionAppConfig.deployment.storage');
    expect(literal(property(storage, 'type'))).toBe('blobContainer');
    expect(property(storage, 'value')?.text).toMatch(/primaryEndpoints\.blob\}\$\{deploymentContainerName\}/);
    const containers = resourcesOfType(file('app/storage.bicep'), 'Microsoft.Storage/storageAccounts/blobServices/containers');
    expect(property(only(containers).body, 'name')?.text).toBe('deploymentContainerName');
    expect(literal(property(only(containers).body, 'properties.publicAccess'))).toBe('None');
  });

  test('the token cache table exists in the same account', () => {
    const tables = resourcesOfType(file('app/storage.bicep'), 'Microsoft.Storage/storageAccounts/tableServices/tables');
    expect(property(only(tables).body, 'name')?.text).toBe('tokenCacheTableName');
  });

  test('azd finds the app through its service tag', () => {
    expect(property(site().body, 'tags')?.text).toMatch(/'azd-service-name': 'api'/);
  });
});

describe('monitoring', () => {
  test('Log Analytics and Application Insights accept Entra-authenticated telemetry only', () => {
    const monitoring = file('app/monitoring.bicep');
    const workspace = only(resourcesOfType(monitoring, 'Microsoft.OperationalInsights/workspaces'));
    expect(literal(property(workspace.body, 'properties.features.disableLocalAuth'))).toBe(true);
    const insights = only(resourcesOfType(monitoring, 'Microsoft.Insights/components').filter((r) => !r.existing));
    expect(literal(property(insights.body, 'properties.DisableLocalAuth'))).toBe(true);
    expect(property(insights.body, 'properties.WorkspaceResourceId')?.text).toBe('logAnalytics.id');
  });

  test('the app authenticates its telemetry with the identity', () => {
    const value = appSettings(file('app/api.bicep')).get('APPLICATIONINSIGHTS_AUTHENTICATION_STRING')?.[0];
    expect(value?.text).toBe("'ClientId=${identityClientId};Authorization=AAD'");
  });
});

describe('optional private network', () => {
  test('is off by default and wired through one parameter', () => {
    const main = file('main.bicep');
    expect(declaredValue(declaration(main, 'param', 'vnetEnabled')!)?.text).toBe('false');
    expect(declaration(main, 'module', 'network')?.node.text).toMatch(/= if \(vnetEnabled\)/);
    expect(property(declaration(main, 'module', 'storage')?.node.descendantsOfType('object')[0], 'params.publicNetworkAccess')?.text).toBe("vnetEnabled ? 'Disabled' : 'Enabled'");
  });

  test('private endpoints for blob, table and Key Vault, and a subnet delegated to Flex Consumption', () => {
    const network = file('app/network.bicep');
    const endpoints = declaredValue(declaration(network, 'var', 'endpoints')!);
    const groupIds = endpoints?.descendantsOfType('object_property').filter((p) => p.namedChildren[0]?.text === 'groupId').map((p) => literal(p.namedChildren[1]));
    expect(groupIds).toEqual(['blob', 'table', 'vault']);
    expect(resourcesOfType(network, 'Microsoft.Network/privateEndpoints')).toHaveLength(1);
    const vnet = only(resourcesOfType(network, 'Microsoft.Network/virtualNetworks'));
    expect(vnet.body?.text).toMatch(/serviceName: 'Microsoft\.App\/environments'/);
  });

  test('Key Vault closes its public endpoint in private mode unless client addresses are allowed', () => {
    const keyVault = file('app/keyvault.bicep');
    expect(declaredValue(declaration(keyVault, 'var', 'publicNetworkAccess')!)?.text).toBe("!vnetEnabled || !empty(allowedIpAddresses) ? 'Enabled' : 'Disabled'");
  });
});

describe('Entra app registration through the Microsoft Graph extension', () => {
  const entra = () => file('app/entra.bicep');

  test('is optional, off by default', () => {
    const main = file('main.bicep');
    expect(declaredValue(declaration(main, 'param', 'createAppRegistration')!)?.text).toBe('false');
    expect(declaration(main, 'module', 'entra')?.node.text).toMatch(/= if \(createAppRegistration\)/);
  });

  test('uses the extension alias that bicepconfig.json maps to the Graph v1.0 types', () => {
    expect(entra().source).toMatch(/^extension microsoftGraphV1$/m);
    const config = JSON.parse(readFileSync(join(INFRA_DIR, 'bicepconfig.json'), 'utf8')) as { extensions: Record<string, string> };
    expect(config.extensions.microsoftGraphV1).toMatch(/^br:mcr\.microsoft\.com\/bicep\/extensions\/microsoftgraph\/v1\.0:\d+\.\d+\.\d+$/);
  });

  test('registers the web redirect URI https://<host>/api/redirect', () => {
    const application = only(resourcesOfType(entra(), 'Microsoft.Graph/applications'));
    expect(property(application.body, 'web.redirectUris')?.text).toBe('redirectUris');
    expect(literal(property(application.body, 'web.implicitGrantSettings.enableIdTokenIssuance'))).toBe(false);
    const main = file('main.bicep');
    expect(declaredValue(declaration(main, 'var', 'redirectUri')!)?.text).toBe("'${baseUrl}/api/redirect'");
    expect(declaredValue(declaration(main, 'var', 'baseUrl')!)?.text).toMatch(/'https:\/\/\$\{functionAppName\}\.azurewebsites\.net'/);
    const passed = property(declaration(main, 'module', 'entra')?.node.descendantsOfType('object')[0], 'params.redirectUris');
    expect(passed?.namedChildren.map((n) => n.text)).toContain('redirectUri');
  });

  test('trusts the user-assigned identity through a federated credential: no secret', () => {
    const credential = only(resourcesOfType(entra(), 'Microsoft.Graph/applications/federatedIdentityCredentials'));
    expect(property(credential.body, 'subject')?.text).toBe('identityPrincipalId');
    expect(property(credential.body, 'audiences')?.text).toMatch(/identityTokenAudience/);
    expect(literal(declaredValue(declaration(entra(), 'var', 'identityTokenAudience')!))).toBe('api://AzureADTokenExchange');
    expect(declaredValue(declaration(entra(), 'var', 'identityTokenIssuer')!)?.text).toBe("'${environment().authentication.loginEndpoint}${tenant().tenantId}/v2.0'");
    expect(entra().source).not.toMatch(/passwordCredentials|keyCredentials|addPassword/);
    // Front-channel logout: Entra calls the app's /api/logout/frontchannel when the user signs out elsewhere.
    expect(property(only(resourcesOfType(entra(), 'Microsoft.Graph/applications')).body, 'web.logoutUrl')?.text).toBe('frontChannelLogoutUrl');
    expect(property(declaration(file('main.bicep'), 'module', 'entra')?.node.descendantsOfType('object')[0], 'params.frontChannelLogoutUrl')?.text).toBe('frontChannelLogoutUrl');
    expect(declaredValue(declaration(file('main.bicep'), 'var', 'frontChannelLogoutUrl')!)?.text).toBe("'${baseUrl}/api/logout/frontchannel'");
    expect(property(declaration(file('main.bicep'), 'module', 'entra')?.node.descendantsOfType('object')[0], 'params.identityPrincipalId')?.text).toBe('identity.outputs.principalId');
  });
});

describe('outputs for azd and the README', () => {
  test('main.bicep outputs the app URL, the redirect URI, the Key Vault URI and the identity client id', () => {
    const outputs = new Map(declarations(file('main.bicep')).filter((d) => d.kind === 'output').map((d) => [d.name, declaredValue(d)?.text]));
    expect(outputs.get('SERVICE_API_URI')).toBe('baseUrl');
    expect(outputs.get('AZURE_AD_REDIRECT_URI')).toBe('redirectUri');
    expect(outputs.get('AZURE_KEY_VAULT_URI')).toBe('keyVault.outputs.uri');
    expect(outputs.get('AZURE_MANAGED_IDENTITY_CLIENT_ID')).toBe('identity.outputs.clientId');
    expect(outputs.get('AZURE_RESOURCE_GROUP')).toBe('rg.name');
  });

  test('main.bicep runs at subscription scope and creates the resource group', () => {
    const main = file('main.bicep');
    expect(main.source).toMatch(/^targetScope = 'subscription'$/m);
    expect(resourcesOfType(main, 'Microsoft.Resources/resourceGroups').filter((r) => !r.existing)).toHaveLength(1);
  });
});
