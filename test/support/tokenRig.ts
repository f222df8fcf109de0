import { randomBytes } from 'node:crypto';
import { startAzuriteTable, type AzuriteTable } from '../../dev/azurite';
import { authoritySettings } from '../../dev/authorityShapes';
import { startDevIdentityProvider, type DevApi, type DevIdentityProvider } from '../../dev/idp';
import { createDevCertificates, trustCertificateAuthority } from '../../dev/tls';
import { createConfidentialClient } from '../../shared/auth/msalClient';
import { runtimeSource, type Runtime } from '../../shared/runtime';
import type { Session } from '../../shared/session/session';
import { partitionKeyFor } from '../../shared/tokenCache/tableStore';
import type { CacheStack } from './cacheRows';
import { pkce } from '../dev/idpFlow';
import { answerAtProvider } from './browserless';

/**
 * The account-token path without a host: the app's runtime over Azurite's Table service and the
 * dev HTTPS provider, and a user signed in by MSAL's own code flow (the row written as a sign-in
 * writes it). Lighter than the local stack (no host, no demo API), so a suite that starts one in
 * beforeAll stays within seconds, as mutation testing needs.
 */
export const RIG_CLIENT_ID = 'rig-client';
export const RIG_REDIRECT = 'http://localhost:7071/api/redirect';
export const API_SCOPE = 'api://rig-api/Data.Read';
export const OTHER_SCOPE = 'api://rig-other/Other.Read';

export interface TokenRig {
  readonly idp: DevIdentityProvider;
  readonly azurite: AzuriteTable;
  /** A fresh runtime on the same settings: another app instance (its own MSAL clients and memory). */
  newRuntime(): Promise<Runtime>;
  readonly runtime: Runtime;
  /** The settings and runtime as test/support/cacheRows.ts takes them (to read, expire or delete the row). */
  readonly stack: CacheStack;
  /** Signs `username` in (code flow, real MSAL) and writes the account's row; the session as the cookie would hold it. */
  signIn(username?: string): Promise<Session>;
  close(): Promise<void>;
}

export interface TokenRigOptions {
  readonly singleUseRefreshTokens?: boolean;
  readonly extraApis?: DevApi[];
  readonly log?: (line: string) => void;
}

export async function startTokenRig(options: TokenRigOptions = {}): Promise<TokenRig> {
  const tls = createDevCertificates();
  trustCertificateAuthority(tls.caCertPem);
  const clientSecret = randomBytes(24).toString('base64url');
  const idp = await startDevIdentityProvider({
    tls,
    clients: [{ clientId: RIG_CLIENT_ID, clientSecret, redirectUris: [RIG_REDIRECT] }],
    apis: [
      { audience: 'api://rig-api', scopes: [API_SCOPE] },
      { audience: 'api://rig-other', scopes: [OTHER_SCOPE] },
      ...(options.extraApis ?? []),
    ],
    singleUseRefreshTokens: options.singleUseRefreshTokens,
  });
  let azurite: AzuriteTable;
  try {
    azurite = await startAzuriteTable();
  } catch (error) {
    await idp.close();
    throw error;
  }
  const settings = {
    ...authoritySettings(idp.issuer),
    AzureAd__ClientId: RIG_CLIENT_ID,
    AzureAd__ClientCredentials__0__SourceType: 'ClientSecret',
    AzureAd__ClientCredentials__0__ClientSecret: clientSecret,
    AzureAd__RedirectUri: RIG_REDIRECT,
    TokenCache__ConnectionString: azurite.connectionString,
    Session__Keys: randomBytes(32).toString('base64url'),
  };
  const log = options.log ?? (() => {});
  const newRuntime = () => runtimeSource(settings, { log }).get();
  const close = async () => {
    await Promise.all([idp.close(), azurite.close()]);
  };
  let runtime: Runtime;
  try {
    runtime = await newRuntime();
  } catch (error) {
    await close();
    throw error;
  }

  // Consent to both APIs at sign-in; the code is redeemed for the first.
  const signIn = async (username = 'ada@contoso.dev'): Promise<Session> => {
    const scopes = [API_SCOPE];
    const provider = await runtime.providers.get(runtime.config.authority.url);
    const client = createConfidentialClient(runtime.config, runtime.config.authority.url, provider, await runtime.credentials.get());
    const p = pkce();
    const url = await client.getAuthCodeUrl({ scopes: [API_SCOPE, OTHER_SCOPE], redirectUri: RIG_REDIRECT, codeChallenge: p.challenge, codeChallengeMethod: 'S256', state: 'rig-state', nonce: 'rig-nonce', responseMode: 'form_post' });
    const code = (await answerAtProvider(url, { username })).fields['code']!;
    const result = await client.acquireTokenByCode({ code, scopes: [...scopes], redirectUri: RIG_REDIRECT, codeVerifier: p.verifier, state: 'rig-state', nonce: 'rig-nonce' });
    const homeAccountId = result.account!.homeAccountId;
    const written = await runtime.tokenCache.replaceRow(partitionKeyFor(homeAccountId), client.getTokenCache().serialize(), {}, new Date(Date.now() + 3600_000), 'any');
    if (written.kind !== 'written') throw new Error(`the sign-in's row was not written (${written.kind})`);
    const now = Math.floor(Date.now() / 1000);
    return { sid: randomBytes(18).toString('base64url'), homeAccountId, claims: {}, iat: now, exp: now + 3600 };
  };

  const stack: CacheStack = { settings, runtime: { get: async () => runtime } };
  return { idp, azurite, runtime, stack, newRuntime, signIn, close };
}
