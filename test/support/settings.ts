/** The fewest settings `loadConfig` accepts (a client secret, a loopback Table, one session key): unit tests add what they are about. */
export const MINIMAL_SETTINGS = {
  AzureAd__ClientId: 'client-1',
  AzureAd__ClientCredentials__0__SourceType: 'ClientSecret',
  AzureAd__ClientCredentials__0__ClientSecret: 'shh-secret-value',
  AzureAd__RedirectUri: 'http://localhost:7071/api/redirect',
  TokenCache__ConnectionString: 'DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=a2V5;TableEndpoint=http://127.0.0.1:10002/devstoreaccount1;',
  Session__Keys: Buffer.alloc(32, 7).toString('base64url'),
} as const;
