// Storage for the Functions host, the deployment package and the token cache. Every caller
// authenticates with Entra ID: shared keys (and so key-based connection strings and SAS) are off.

param name string
param location string
param tags object
param deploymentContainerName string
param tokenCacheTableName string

@allowed([
  'Enabled'
  'Disabled'
])
param publicNetworkAccess string = 'Enabled'

@description('Log Analytics workspace that receives the blob and table logs (reads, writes, deletes).')
param logAnalyticsWorkspaceId string

@allowed([
  'Standard_LRS'
  'Standard_ZRS'
])
param skuName string = 'Standard_LRS'

resource account 'Microsoft.Storage/storageAccounts@2025-01-01' = {
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: skuName
  }
  properties: {
    accessTier: 'Hot'
    allowSharedKeyAccess: false
    defaultToOAuthAuthentication: true
    allowBlobPublicAccess: false
    allowCrossTenantReplication: false
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    dnsEndpointType: 'Standard'
    publicNetworkAccess: publicNetworkAccess
    // Private mode: only the private endpoints, not even trusted Azure services.
    networkAcls: {
      bypass: publicNetworkAccess == 'Enabled' ? 'AzureServices' : 'None'
      defaultAction: publicNetworkAccess == 'Enabled' ? 'Allow' : 'Deny'
    }
  }

  resource blobServices 'blobServices' = {
    name: 'default'

    resource deploymentContainer 'containers' = {
      name: deploymentContainerName
      properties: {
        publicAccess: 'None'
      }
    }
  }

  resource tableServices 'tableServices' = {
    name: 'default'

    resource tokenCacheTable 'tables' = {
      name: tokenCacheTableName
    }
  }
}

// Every request to the token cache table and the host's blobs, with its caller, status and latency
// (StorageTableLogs, StorageBlobLogs): conflicts (412), throttling (503) and who read what.
var storageLogCategories = [
  'StorageRead'
  'StorageWrite'
  'StorageDelete'
]

// 2021-05-01-preview is the newest version; the linter's 2016-09-01 is an older, different type.
#disable-next-line use-recent-api-versions
resource blobDiagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'to-log-analytics'
  scope: account::blobServices
  properties: {
    workspaceId: logAnalyticsWorkspaceId
    logAnalyticsDestinationType: 'Dedicated'
    logs: [
      for category in storageLogCategories: {
        category: category
        enabled: true
      }
    ]
  }
}

#disable-next-line use-recent-api-versions
resource tableDiagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'to-log-analytics'
  scope: account::tableServices
  properties: {
    workspaceId: logAnalyticsWorkspaceId
    logAnalyticsDestinationType: 'Dedicated'
    logs: [
      for category in storageLogCategories: {
        category: category
        enabled: true
      }
    ]
  }
}

output name string = account.name
output id string = account.id
output blobEndpoint string = account.properties.primaryEndpoints.blob
output tableEndpoint string = account.properties.primaryEndpoints.table
