// Key Vault for the session-cookie keys and, if the app does not use its federated credential,
// the client certificate. Access is Azure RBAC only; deleted vaults and secrets stay recoverable.

param name string
param location string
param tags object
param vnetEnabled bool = false

@description('With vnetEnabled: client IPs or CIDR ranges still allowed through the firewall.')
param allowedIpAddresses array = []

@description('Log Analytics workspace that receives the audit events: every secret read and write, by whom.')
param logAnalyticsWorkspaceId string

@minValue(7)
@maxValue(90)
param softDeleteRetentionInDays int = 90

// Private mode closes the public endpoint unless some client addresses must still reach it.
var publicNetworkAccess = !vnetEnabled || !empty(allowedIpAddresses) ? 'Enabled' : 'Disabled'

// 2026-02-01 or later: control-plane versions before it retire in February 2027.
resource vault 'Microsoft.KeyVault/vaults@2026-02-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    tenantId: tenant().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: softDeleteRetentionInDays
    enablePurgeProtection: true
    enabledForDeployment: false
    enabledForDiskEncryption: false
    enabledForTemplateDeployment: false
    publicNetworkAccess: publicNetworkAccess
    networkAcls: vnetEnabled
      ? {
          bypass: 'AzureServices'
          defaultAction: 'Deny'
          ipRules: map(allowedIpAddresses, ip => { value: ip })
        }
      : {
          bypass: 'AzureServices'
          defaultAction: 'Allow'
        }
  }
}

// AuditEvent: each operation on the vault (SecretGet by the app's identity, SecretSet by the hook),
// with the caller's identity and address, in AZKVAuditLogs.
// 2021-05-01-preview is the newest version; the linter's 2016-09-01 is an older, different type.
#disable-next-line use-recent-api-versions
resource auditDiagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'to-log-analytics'
  scope: vault
  properties: {
    workspaceId: logAnalyticsWorkspaceId
    logAnalyticsDestinationType: 'Dedicated'
    logs: [
      {
        category: 'AuditEvent'
        enabled: true
      }
    ]
  }
}

output name string = vault.name
output id string = vault.id
output uri string = vault.properties.vaultUri
