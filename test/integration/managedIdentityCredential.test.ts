import { randomUUID } from 'node:crypto';
import { ManagedIdentityCredential } from '@azure/identity';
import { TOKEN_EXCHANGE_SCOPE } from '../../shared/credentials/managedIdentityAssertion';
import { startLocalStack, type LocalStack } from '../../dev/stack';
import { startAzuriteTable, type AzuriteTable } from '../../dev/azurite';
import { createDevCertificates, trustCertificateAuthority } from '../../dev/tls';
import { proxyCall, send } from '../support/browserless';
import { expireAccessTokens } from '../support/cacheRows';
import { KEY_VAULT_RESOURCE, startKeyVaultServer, type KeyVaultServer } from '../support/keyVaultServer';
import { startManagedIdentityServer, type ManagedIdentity, type ManagedIdentityServer } from '../support/managedIdentityServer';
import { newSessionKeys, signInAndCallApi } from '../support/credentialStack';

/**
 * SignedAssertionFromManagedIdentity: no secret anywhere. The App Service managed identity
 * endpoint runs on loopback (`IDENTITY_ENDPOINT`/`IDENTITY_HEADER`, API 2019-08-01) and the real
 * `ManagedIdentityCredential` of @azure/identity talks to it (MSAL's App Service source reads
 * the two variables at the first token request, and accepts an http loopback endpoint). The dev
 * provider trusts the identity's tokens as a federated credential; the test vault trusts them
 * as bearer tokens for the session keys.
 */
const TOKEN_EXCHANGE_RESOURCE = TOKEN_EXCHANGE_SCOPE.replace(/\/\.default$/, '');
const identity: ManagedIdentity = { clientId: randomUUID(), principalId: randomUUID() };
let identityEndpoint: ManagedIdentityServer;
let vault: KeyVaultServer;
let azurite: AzuriteTable;
let stack: LocalStack;
const logs: string[] = [];
const savedEnvironment = { IDENTITY_ENDPOINT: process.env['IDENTITY_ENDPOINT'], IDENTITY_HEADER: process.env['IDENTITY_HEADER'] };

beforeAll(async () => {
  identityEndpoint = await startManagedIdentityServer({ identities: [identity] });
  // As App Service sets them; read by @azure/identity (MSAL) itself, never by the app.
  process.env['IDENTITY_ENDPOINT'] = identityEndpoint.endpoint;
  process.env['IDENTITY_HEADER'] = identityEndpoint.header;

  const tls = createDevCertificates();
  trustCertificateAuthority(tls.caCertPem);
  vault = await startKeyVaultServer({ tls, authorize: async (token) => (await identityEndpoint.verify(token, KEY_VAULT_RESOURCE)) === identity.principalId });
  vault.setSecret('session-keys', newSessionKeys());
  azurite = await startAzuriteTable();

  stack = await startLocalStack({
    settings: {
      TokenCache__ConnectionString: azurite.connectionString,
      AzureAd__ClientCredentials__0__SourceType: 'SignedAssertionFromManagedIdentity',
      AzureAd__ClientCredentials__0__ManagedIdentityClientId: identity.clientId,
      Session__KeyVaultUrl: vault.url,
      Session__KeyVaultSecretName: 'session-keys',
    },
    port: 0,
    log: () => {},
    // No secret and no certificate on the app registration: only the federated identity signs it in.
    idp: { client: { clientSecret: [], federatedIssuer: { issuer: identityEndpoint.issuer, subject: identity.principalId, jwks: identityEndpoint.jwks } } },
    runtime: {
      // Key Vault is read with the same identity. The assertion's token source is left to the
      // production default (a ManagedIdentityCredential for ManagedIdentityClientId).
      azureCredential: () => new ManagedIdentityCredential({ clientId: identity.clientId }),
      log: (line) => logs.push(line),
    },
  });
});
afterAll(async () => {
  await stack?.close();
  await vault?.close();
  await azurite?.close();
  await identityEndpoint?.close();
  for (const [name, value] of Object.entries(savedEnvironment)) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
});

test('sign-in and proxied calls with the managed identity\'s token as the client assertion', async () => {
  const jar = await signInAndCallApi(stack);
  expect(identityEndpoint.stats.tokens[TOKEN_EXCHANGE_RESOURCE]).toBe(1);
  expect(identityEndpoint.stats.tokens[KEY_VAULT_RESOURCE]).toBe(1);
  expect(identityEndpoint.stats.refused).toBe(0);
  expect(logs).toContain(`client credential: AzureAd__ClientCredentials__0 (SignedAssertionFromManagedIdentity, user-assigned managed identity ${identity.clientId})`);

  // MSAL asks for the assertion on every request (cache hits too), and on a refresh: it comes from memory.
  for (let i = 0; i < 20; i++) expect((await proxyCall(stack.appUrl, jar, 'demo/profile')).status).toBe(200);
  const refreshes = stack.idp!.stats.grants.refresh_token;
  await expireAccessTokens(stack);
  expect((await proxyCall(stack.appUrl, jar, 'demo/profile')).status).toBe(200);
  expect(stack.idp!.stats.grants.refresh_token - refreshes).toBe(1);
  expect(identityEndpoint.stats.tokens[TOKEN_EXCHANGE_RESOURCE]).toBe(1);
  expect(vault.stats.reads).toBe(1);
});

test('an identity the endpoint does not know: 503 naming ManagedIdentityClientId, no crash', async () => {
  // A second app in the same process, pointed at an identity that is not assigned.
  const unknown = randomUUID();
  const other = await startLocalStack({
    settings: {
      TokenCache__ConnectionString: azurite.connectionString,
      AzureAd__ClientCredentials__0__SourceType: 'SignedAssertionFromManagedIdentity',
      AzureAd__ClientCredentials__0__ManagedIdentityClientId: unknown,
    },
    port: 0,
    log: () => {},
    idp: { client: { clientSecret: [] } },
    runtime: { log: () => {} },
  });
  try {
    const answer = await send(`${other.appUrl}/api/login`, undefined);
    expect(answer.status).toBe(503);
    expect(await answer.json()).toMatchObject({
      code: 'client_credential_unavailable',
      sources: [{ setting: 'AzureAd__ClientCredentials__0', code: 'managed_identity_unavailable' }],
      detail: expect.stringContaining(`AzureAd__ClientCredentials__0__ManagedIdentityClientId: the user-assigned managed identity ${unknown} gave no token`),
    });
    // Two apps in one process are two runtimes: the first one still signs in with its own settings.
    expect((await send(`${stack.appUrl}/api/login`, undefined)).status).toBe(302);
    expect((await send(`${other.appUrl}/api/login`, undefined)).status).toBe(503);
  } finally {
    await other.close();
  }
});
