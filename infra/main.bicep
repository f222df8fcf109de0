targetScope = 'subscription'

metadata description = 'Sign-in and token handler on Azure Functions Flex Consumption: identity-based storage, Key Vault, monitoring and (optionally) its Entra app registration.'

// ---------- Environment (azd fills these from main.parameters.json) ----------

@minLength(1)
@maxLength(64)
@description('azd environment name: names the resource group and seeds every resource name.')
param environmentName string

// The regions that offer the Flex Consumption plan (`az functionapp list-flexconsumption-locations`),
// as in Microsoft's Functions quickstart templates: azd then offers only these.
@minLength(1)
@description('Region for every resource; one that offers the Flex Consumption plan.')
@allowed([
  'australiaeast'
  'australiasoutheast'
  'brazilsouth'
  'canadacentral'
  'centralindia'
  'centralus'
  'eastasia'
  'eastus'
  'eastus2'
  'francecentral'
  'germanywestcentral'
  'italynorth'
  'japaneast'
  'koreacentral'
  'northcentralus'
  'northeurope'
  'norwayeast'
  'southafricanorth'
  'southcentralus'
  'southeastasia'
  'southindia'
  'spaincentral'
  'swedencentral'
  'uaenorth'
  'uksouth'
  'ukwest'
  'westcentralus'
  'westeurope'
  'westus'
  'westus2'
  'westus3'
])
@metadata({
  azd: {
    type: 'location'
  }
})
param location string

@description('Object id of the deploying user or service principal (azd sets AZURE_PRINCIPAL_ID). It gets data roles on storage and Key Vault so the post-provision hook can store the session keys. Empty: no roles for the deployer.')
param principalId string = ''

@allowed([
  'User'
  'ServicePrincipal'
])
@description('Kind of principal behind principalId (ServicePrincipal in CI).')
param principalType string = 'User'

@description('Also give the deploying principal the storage data roles (it can then read the token cache table, whose rows are encrypted). Off by default.')
param allowUserIdentityPrincipal bool = false

// ---------- Sign-in (the AzureAd__* settings) ----------

@description('Client id of an existing app registration. Leave empty when createAppRegistration is true.')
param azureAdClientId string = ''

@description('Tenant id (Entra ID). Empty: the tenant of the subscription.')
param azureAdTenantId string = ''

@description('Authority host for Entra ID, or the b2clogin.com instance for Azure AD B2C.')
param azureAdInstance string = environment().authentication.loginEndpoint

@description('A whole authority URL instead of instance and tenant (any OpenID Connect provider over https). Empty: instance and tenant are used.')
param azureAdAuthority string = ''

@description('Azure AD B2C only: the tenant domain, e.g. contoso.onmicrosoft.com.')
param azureAdDomain string = ''

@description('Azure AD B2C only: the sign-up/sign-in user flow. Empty: not B2C.')
param azureAdSignUpSignInPolicyId string = ''

@description('Azure AD B2C only: the password reset user flow.')
// A user-flow name such as B2C_1_reset, not a secret: the linter goes by the word "Password".
#disable-next-line secure-secrets-in-params
param azureAdResetPasswordPolicyId string = ''

@description('Azure AD B2C only: the profile editing user flow.')
param azureAdEditProfilePolicyId string = ''

@description('Extra scopes requested at sign-in, space separated.')
param azureAdScopes string = ''

@description('/api/obo: accepted token audiences (space separated). Empty: the created registration\'s App ID URI, or the client id and api://<client id>.')
param azureAdAudience string = ''

@description('/api/obo: scopes one of which a caller\'s token must carry in scp (space separated). Empty: access_as_user.')
param oboRequiredScopes string = ''

@description('/api/obo: app roles that admit an app-only caller (space separated). Empty: none.')
param oboRequiredAppRoles string = ''

@allowed([
  'SignedAssertionFromManagedIdentity'
  'KeyVault'
])
@description('How the app proves it is the app: the user-assigned identity through a federated identity credential (no secret at all), or a certificate or secret stored in the Key Vault.')
param clientCredentialSourceType string = 'SignedAssertionFromManagedIdentity'

@description('With clientCredentialSourceType KeyVault: the certificate holding the client credential.')
param clientCredentialKeyVaultCertificateName string = ''

@description('With clientCredentialSourceType KeyVault: the secret holding the client secret (prefer a certificate or the federated credential).')
param clientCredentialKeyVaultSecretName string = ''

@description('Create the Entra app registration (redirect URIs and a federated credential trusting the identity) with the Microsoft Graph Bicep extension. The deployer needs permission to create applications.')
param createAppRegistration bool = false

@description('Public origin of the app, e.g. https://login.contoso.com behind a custom domain. Empty: https://<function app>.azurewebsites.net.')
param publicBaseUrl string = ''

@description('APIs the proxy may reach: { <name>: { baseUrl: string, scopes: string[], requestAppToken: bool? } }.')
param downstreamApis object = {
  graph: {
    baseUrl: 'https://graph.microsoft.com/v1.0/'
    scopes: [
      'https://graph.microsoft.com/User.Read'
    ]
  }
}

@description('Name of the Key Vault secret that holds the session-cookie keys (comma-separated base64url 32-byte keys, first one seals). The post-provision hook creates it once.')
param sessionKeysSecretName string = 'session-keys'

@description('Table holding one token cache row per account.')
param tokenCacheTableName string = 'TokenCache'

// ---------- Hosting ----------

@allowed([
  '22'
  '24'
])
@description('Node.js version of the Functions runtime.')
param nodeVersion string = '22'

@allowed([
  512
  2048
  4096
])
@description('Memory of each Flex Consumption instance, in MB.')
param instanceMemoryMB int = 2048

@minValue(1)
@maxValue(1000)
@description('Upper bound of instances the app scales out to.')
param maximumInstanceCount int = 100

@minValue(0)
@maxValue(20)
@description('Always-ready instances for the HTTP trigger group (billed while idle). 0: scale from zero.')
param alwaysReadyHttpInstances int = 0

// ---------- Network ----------

@description('Private network mode: VNet integration for the app, private endpoints for storage and Key Vault, public access to both turned off.')
param vnetEnabled bool = false

@description('Private network mode only: client IP addresses (or CIDR ranges) still allowed to reach the Key Vault, e.g. the machine running the post-provision hook. Empty entries are ignored.')
param allowedIpAddresses array = []

// ---------- Names ----------

var abbrs = loadJsonContent('abbreviations.json')
var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var tags = {
  'azd-env-name': environmentName
}
var functionAppName = '${abbrs.webSitesFunctions}api-${resourceToken}'
// Known before the app exists, so the app registration and the app settings agree without a cycle.
var baseUrl = empty(publicBaseUrl) ? 'https://${functionAppName}.azurewebsites.net' : publicBaseUrl
var redirectUri = '${baseUrl}/api/redirect'
var postLogoutRedirectUri = '${baseUrl}/api/'
var frontChannelLogoutUrl = '${baseUrl}/api/logout/frontchannel'
var tenantId = empty(azureAdTenantId) ? tenant().tenantId : azureAdTenantId
// One container per app (a storage account shared by two apps must not mix their packages);
// at most 63 characters: 12 + 32 + 1 + 7.
var deploymentContainerName = 'app-package-${take(functionAppName, 32)}-${take(toLower(uniqueString(functionAppName, resourceToken)), 7)}'
// The parameters file maps one environment value into this array; unset, it is [''].
var keyVaultAllowedIpAddresses = filter(allowedIpAddresses, ip => !empty(ip))

resource rg 'Microsoft.Resources/resourceGroups@2025-04-01' = {
  name: '${abbrs.resourcesResourceGroups}${environmentName}'
  location: location
  tags: tags
}

module identity 'app/identity.bicep' = {
  name: 'identity'
  scope: rg
  params: {
    name: '${abbrs.managedIdentityUserAssignedIdentities}api-${resourceToken}'
    location: location
    tags: tags
  }
}

module monitoring 'app/monitoring.bicep' = {
  name: 'monitoring'
  scope: rg
  params: {
    logAnalyticsName: '${abbrs.operationalInsightsWorkspaces}${resourceToken}'
    applicationInsightsName: '${abbrs.insightsComponents}${resourceToken}'
    location: location
    tags: tags
  }
}

module storage 'app/storage.bicep' = {
  name: 'storage'
  scope: rg
  params: {
    name: '${abbrs.storageStorageAccounts}${resourceToken}'
    location: location
    tags: tags
    deploymentContainerName: deploymentContainerName
    tokenCacheTableName: tokenCacheTableName
    publicNetworkAccess: vnetEnabled ? 'Disabled' : 'Enabled'
    logAnalyticsWorkspaceId: monitoring.outputs.logAnalyticsId
  }
}

module keyVault 'app/keyvault.bicep' = {
  name: 'keyVault'
  scope: rg
  params: {
    name: '${abbrs.keyVaultVaults}${resourceToken}'
    location: location
    tags: tags
    vnetEnabled: vnetEnabled
    allowedIpAddresses: keyVaultAllowedIpAddresses
    logAnalyticsWorkspaceId: monitoring.outputs.logAnalyticsId
  }
}

module network 'app/network.bicep' = if (vnetEnabled) {
  name: 'network'
  scope: rg
  params: {
    vnetName: '${abbrs.networkVirtualNetworks}${resourceToken}'
    privateEndpointPrefix: abbrs.networkPrivateEndpoints
    location: location
    tags: tags
    storageAccountName: storage.outputs.name
    keyVaultName: keyVault.outputs.name
  }
}

module rbac 'app/rbac.bicep' = {
  name: 'rbac'
  scope: rg
  params: {
    storageAccountName: storage.outputs.name
    keyVaultName: keyVault.outputs.name
    applicationInsightsName: monitoring.outputs.applicationInsightsName
    identityPrincipalId: identity.outputs.principalId
    userPrincipalId: principalId
    userPrincipalType: principalType
    allowUserIdentityPrincipal: allowUserIdentityPrincipal
  }
}

module entra 'app/entra.bicep' = if (createAppRegistration) {
  name: 'entra'
  scope: rg
  params: {
    uniqueName: functionAppName
    displayName: 'Sign-in handler (${environmentName})'
    redirectUris: [
      redirectUri
      postLogoutRedirectUri
    ]
    frontChannelLogoutUrl: frontChannelLogoutUrl
    identityPrincipalId: identity.outputs.principalId
  }
}

var clientId = createAppRegistration ? entra!.outputs.clientId : azureAdClientId

module api 'app/api.bicep' = {
  name: 'api'
  scope: rg
  params: {
    name: functionAppName
    planName: '${abbrs.webServerFarms}${resourceToken}'
    location: location
    tags: tags
    identityId: identity.outputs.id
    identityClientId: identity.outputs.clientId
    storageAccountName: storage.outputs.name
    deploymentContainerName: deploymentContainerName
    tokenCacheTableName: tokenCacheTableName
    keyVaultUri: keyVault.outputs.uri
    applicationInsightsName: monitoring.outputs.applicationInsightsName
    nodeVersion: nodeVersion
    instanceMemoryMB: instanceMemoryMB
    maximumInstanceCount: maximumInstanceCount
    alwaysReadyHttpInstances: alwaysReadyHttpInstances
    subnetId: vnetEnabled ? network!.outputs.appSubnetId : ''
    azureAdClientId: clientId
    azureAdTenantId: tenantId
    azureAdInstance: azureAdInstance
    azureAdAuthority: azureAdAuthority
    azureAdDomain: azureAdDomain
    azureAdSignUpSignInPolicyId: azureAdSignUpSignInPolicyId
    azureAdResetPasswordPolicyId: azureAdResetPasswordPolicyId
    azureAdEditProfilePolicyId: azureAdEditProfilePolicyId
    azureAdScopes: azureAdScopes
    azureAdAudience: !empty(azureAdAudience) ? azureAdAudience : (createAppRegistration ? entra!.outputs.apiAudience : '')
    oboRequiredScopes: oboRequiredScopes
    oboRequiredAppRoles: oboRequiredAppRoles
    redirectUri: redirectUri
    postLogoutRedirectUri: postLogoutRedirectUri
    clientCredentialSourceType: clientCredentialSourceType
    clientCredentialKeyVaultCertificateName: clientCredentialKeyVaultCertificateName
    clientCredentialKeyVaultSecretName: clientCredentialKeyVaultSecretName
    downstreamApis: downstreamApis
    sessionKeysSecretName: sessionKeysSecretName
  }
  // The host reads its storage and the app its vault as soon as the site exists: grant first.
  dependsOn: [
    rbac
  ]
}

// ---------- Outputs: azd stores them in .azure/<env>/.env; none is a secret ----------

output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_AD_TENANT_ID string = tenantId
output AZURE_RESOURCE_GROUP string = rg.name
output SERVICE_API_NAME string = api.outputs.name
output SERVICE_API_URI string = baseUrl
output AZURE_FUNCTION_APP_HOSTNAME string = api.outputs.defaultHostName
output AZURE_AD_CLIENT_ID string = clientId
output AZURE_AD_REDIRECT_URI string = redirectUri
output AZURE_AD_POST_LOGOUT_REDIRECT_URI string = postLogoutRedirectUri
output AZURE_AD_APP_REGISTRATION_CREATED bool = createAppRegistration
output AZURE_KEY_VAULT_NAME string = keyVault.outputs.name
output AZURE_KEY_VAULT_URI string = keyVault.outputs.uri
output SESSION_KEYS_NAME string = sessionKeysSecretName
output AZURE_MANAGED_IDENTITY_CLIENT_ID string = identity.outputs.clientId
output AZURE_MANAGED_IDENTITY_PRINCIPAL_ID string = identity.outputs.principalId
// For `az ad app federated-credential create` when the registration is made by hand.
output AZURE_FEDERATED_CREDENTIAL_ISSUER string = '${environment().authentication.loginEndpoint}${tenant().tenantId}/v2.0'
output AZURE_STORAGE_ACCOUNT_NAME string = storage.outputs.name
output AZURE_VNET_ENABLED bool = vnetEnabled
