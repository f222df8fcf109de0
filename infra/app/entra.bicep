// Optional: the app registration itself, through the Microsoft Graph Bicep extension (the alias is
// declared in bicepconfig.json). The user-assigned identity becomes the app's credential through a
// federated identity credential, so the registration holds no secret and no certificate.
extension microsoftGraphV1

@description('Immutable key of the registration in the tenant; redeploying updates the same one.')
param uniqueName string
param displayName string

@description('Web redirect URIs: /api/redirect, and the post-logout URL Entra checks against the same list.')
param redirectUris array

@description('Front-channel logout URL (/api/logout/frontchannel): Entra loads it in an iframe when the user signs out elsewhere.')
param frontChannelLogoutUrl string

@description('Principal (object) id of the user-assigned identity trusted as the credential.')
param identityPrincipalId string

// Well-known ids: Microsoft Graph and its delegated User.Read permission.
var microsoftGraphAppId = '00000003-0000-0000-c000-000000000000'
var userReadScopeId = 'e1fe6dd8-ba31-4d61-89e7-88639da4683d'

// The app's own API for /api/obo ("Expose an API"): an App ID URI of a form Entra accepts for a new
// registration (api://<tenant id>/<string>; api://<app id> cannot name the app it is part of) and
// the scope access_as_user, the default of Obo__RequiredScopes.
var apiAudience = 'api://${tenant().tenantId}/${uniqueName}'

// Managed identity tokens are issued by the tenant's v2.0 endpoint for this audience.
var identityTokenIssuer = '${environment().authentication.loginEndpoint}${tenant().tenantId}/v2.0'
var identityTokenAudience = 'api://AzureADTokenExchange'

resource application 'Microsoft.Graph/applications@v1.0' = {
  uniqueName: uniqueName
  displayName: displayName
  signInAudience: 'AzureADMyOrg'
  web: {
    redirectUris: redirectUris
    logoutUrl: frontChannelLogoutUrl
    // Authorization code flow only: no token comes back in the front channel.
    implicitGrantSettings: {
      enableAccessTokenIssuance: false
      enableIdTokenIssuance: false
    }
  }
  identifierUris: [
    apiAudience
  ]
  api: {
    requestedAccessTokenVersion: 2
    oauth2PermissionScopes: [
      {
        id: guid(uniqueName, 'access_as_user')
        value: 'access_as_user'
        type: 'User'
        isEnabled: true
        adminConsentDisplayName: 'Call the app\'s APIs for the signed-in user'
        adminConsentDescription: 'Lets a client call this app\'s /api/obo for the signed-in user, which then calls downstream APIs on their behalf.'
        userConsentDisplayName: 'Call the app\'s APIs for you'
        userConsentDescription: 'Lets a client call this app for you, which then calls downstream APIs on your behalf.'
      }
    ]
  }
  requiredResourceAccess: [
    {
      resourceAppId: microsoftGraphAppId
      resourceAccess: [
        {
          id: userReadScopeId
          type: 'Scope'
        }
      ]
    }
  ]

  resource identityCredential 'federatedIdentityCredentials@v1.0' = {
    name: '${application.uniqueName}/function-app-identity'
    description: 'The function app\'s user-assigned managed identity is this application\'s client credential.'
    issuer: identityTokenIssuer
    subject: identityPrincipalId
    audiences: [
      identityTokenAudience
    ]
  }
}

resource servicePrincipal 'Microsoft.Graph/servicePrincipals@v1.0' = {
  appId: application.appId
}

output clientId string = application.appId
output apiAudience string = apiAudience
output servicePrincipalId string = servicePrincipal.id
