// The function app on a Flex Consumption plan, and its app settings. Every connection is
// identity-based: the settings hold endpoints and the identity's client id, never a key.

param name string
param planName string
param location string
param tags object

param identityId string
param identityClientId string

param storageAccountName string
param deploymentContainerName string
param tokenCacheTableName string
param keyVaultUri string
param applicationInsightsName string

@allowed([
  '22'
  '24'
])
param nodeVersion string = '22'

@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 2048

@minValue(1)
@maxValue(1000)
param maximumInstanceCount int = 100

@minValue(0)
@maxValue(20)
param alwaysReadyHttpInstances int = 0

@description('Subnet delegated to Microsoft.App/environments for VNet integration; empty: none.')
param subnetId string = ''

// Sign-in settings (AzureAd__*), in Microsoft.Identity.Web's shape.
param azureAdClientId string
param azureAdTenantId string
param azureAdInstance string
param azureAdAuthority string = ''
param azureAdDomain string = ''
param azureAdSignUpSignInPolicyId string = ''
// A B2C user-flow name, not a secret: the linter goes by the word "Password".
#disable-next-line secure-secrets-in-params
param azureAdResetPasswordPolicyId string = ''
param azureAdEditProfilePolicyId string = ''
param azureAdScopes string = ''
@description('/api/obo: accepted token audiences (space separated). Empty: the client id and api://<client id>.')
param azureAdAudience string = ''
@description('/api/obo: scopes one of which a caller\'s token must carry in scp (space separated). Empty: access_as_user, unless app roles are set.')
param oboRequiredScopes string = ''
@description('/api/obo: app roles that admit an app-only caller (space separated). Empty: none.')
param oboRequiredAppRoles string = ''
param redirectUri string
param postLogoutRedirectUri string

@allowed([
  'SignedAssertionFromManagedIdentity'
  'KeyVault'
])
param clientCredentialSourceType string = 'SignedAssertionFromManagedIdentity'
param clientCredentialKeyVaultCertificateName string = ''
param clientCredentialKeyVaultSecretName string = ''

@description('{ <name>: { baseUrl: string, scopes: string[], requestAppToken: bool? } }')
param downstreamApis object = {}

param sessionKeysSecretName string

resource storageAccount 'Microsoft.Storage/storageAccounts@2025-01-01' existing = {
  name: storageAccountName
}

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

// ---------- App settings ----------

// Functions host storage through the identity (no AzureWebJobsStorage connection string).
var hostStorageSettings = {
  AzureWebJobsStorage__blobServiceUri: storageAccount.properties.primaryEndpoints.blob
  AzureWebJobsStorage__tableServiceUri: storageAccount.properties.primaryEndpoints.table
  AzureWebJobsStorage__credential: 'managedidentity'
  AzureWebJobsStorage__clientId: identityClientId
}

// The connection string only names the resource; local auth is off, so the token below is required.
var monitoringSettings = {
  APPLICATIONINSIGHTS_CONNECTION_STRING: applicationInsights.properties.ConnectionString
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identityClientId};Authorization=AAD'
}

var authoritySettings = empty(azureAdAuthority)
  ? {
      AzureAd__Instance: azureAdInstance
      AzureAd__TenantId: azureAdTenantId
    }
  : {
      AzureAd__Authority: azureAdAuthority
    }

var b2cSettings = empty(azureAdSignUpSignInPolicyId)
  ? {}
  : {
      AzureAd__Domain: azureAdDomain
      AzureAd__SignUpSignInPolicyId: azureAdSignUpSignInPolicyId
      AzureAd__ResetPasswordPolicyId: azureAdResetPasswordPolicyId
      AzureAd__EditProfilePolicyId: azureAdEditProfilePolicyId
    }

var signInSettings = {
  AzureAd__ClientId: azureAdClientId
  AzureAd__RedirectUri: redirectUri
  AzureAd__PostLogoutRedirectUri: postLogoutRedirectUri
  AzureAd__Scopes: azureAdScopes
}

// What a bearer token at /api/obo must carry; unset settings take the app's defaults.
var oboSettings = union(
  empty(azureAdAudience) ? {} : { AzureAd__Audience: azureAdAudience },
  empty(oboRequiredScopes) ? {} : { Obo__RequiredScopes: oboRequiredScopes },
  empty(oboRequiredAppRoles) ? {} : { Obo__RequiredAppRoles: oboRequiredAppRoles }
)

// Federated credential: the identity's token is the client assertion, so there is no secret at all.
var managedIdentityCredentialSettings = {
  AzureAd__ClientCredentials__0__SourceType: 'SignedAssertionFromManagedIdentity'
  AzureAd__ClientCredentials__0__ManagedIdentityClientId: identityClientId
}

var keyVaultCredentialSettings = union(
  {
    AzureAd__ClientCredentials__0__SourceType: 'KeyVault'
    AzureAd__ClientCredentials__0__KeyVaultUrl: keyVaultUri
  },
  empty(clientCredentialKeyVaultCertificateName)
    ? {}
    : {
        AzureAd__ClientCredentials__0__KeyVaultCertificateName: clientCredentialKeyVaultCertificateName
      },
  empty(clientCredentialKeyVaultSecretName)
    ? {}
    : {
        AzureAd__ClientCredentials__0__KeyVaultSecretName: clientCredentialKeyVaultSecretName
      }
)

var credentialSettings = clientCredentialSourceType == 'KeyVault' ? keyVaultCredentialSettings : managedIdentityCredentialSettings

var tokenCacheSettings = {
  TokenCache__TableName: tokenCacheTableName
  TokenCache__TableServiceUri: storageAccount.properties.primaryEndpoints.table
  TokenCache__ClientId: identityClientId
}

var sessionSettings = {
  Session__KeyVaultUrl: keyVaultUri
  Session__KeyVaultSecretName: sessionKeysSecretName
}

// DownstreamApis__<name>__BaseUrl / __Scopes / __RequestAppToken, one triple per API.
var downstreamApiSettings = reduce(
  items(downstreamApis),
  {},
  (merged, entry) =>
    union(merged, {
      'DownstreamApis__${entry.key}__BaseUrl': entry.value.baseUrl
      'DownstreamApis__${entry.key}__Scopes': join(entry.value.scopes, ' ')
      'DownstreamApis__${entry.key}__RequestAppToken': entry.value.?requestAppToken == true ? 'true' : 'false'
    })
)

var appSettings = union(
  hostStorageSettings,
  monitoringSettings,
  authoritySettings,
  b2cSettings,
  signInSettings,
  oboSettings,
  credentialSettings,
  tokenCacheSettings,
  sessionSettings,
  downstreamApiSettings
)

// ---------- Plan and site ----------

resource plan 'Microsoft.Web/serverfarms@2025-03-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    name: 'FC1'
    tier: 'FlexConsumption'
  }
  properties: {
    reserved: true
  }
}

resource site 'Microsoft.Web/sites@2025-03-01' = {
  name: name
  location: location
  // azd finds the app to deploy the `api` service to by this tag.
  tags: union(tags, {
    'azd-service-name': 'api'
  })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    clientAffinityEnabled: false
    virtualNetworkSubnetId: empty(subnetId) ? null : subnetId
    keyVaultReferenceIdentity: identityId
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storageAccount.properties.primaryEndpoints.blob}${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        instanceMemoryMB: instanceMemoryMB
        maximumInstanceCount: maximumInstanceCount
        alwaysReady: alwaysReadyHttpInstances > 0
          ? [
              {
                name: 'http'
                instanceCount: alwaysReadyHttpInstances
              }
            ]
          : []
      }
      runtime: {
        name: 'node'
        version: nodeVersion
      }
    }
    siteConfig: {
      minTlsVersion: '1.2'
      scmMinTlsVersion: '1.2'
      ftpsState: 'Disabled'
      http20Enabled: true
    }
  }

  resource settings 'config' = {
    name: 'appsettings'
    properties: appSettings
  }

  // azd deploys with an Entra token; no publishing password is needed or allowed.
  resource ftpCredentials 'basicPublishingCredentialsPolicies' = {
    name: 'ftp'
    properties: {
      allow: false
    }
  }

  resource scmCredentials 'basicPublishingCredentialsPolicies' = {
    name: 'scm'
    properties: {
      allow: false
    }
  }
}

output name string = site.name
output defaultHostName string = site.properties.defaultHostName
