import { randomBytes } from 'node:crypto';
import { startDevIdentityProvider, type DevClient, type DevIdentityProvider, type DevIdentityProviderOptions } from '../../dev/idp';
import { createDevCertificates, trustCertificateAuthority, type DevCertificates } from '../../dev/tls';
import { authoritySettings, type DevAuthorityShape } from '../../dev/authorityShapes';
import { loadConfig, type Settings } from '../../shared/config';
import type { Runtime } from '../../shared/runtime';
import { createCookieSealer } from '../../shared/session/sealing';
import { ProviderDirectory } from '../../shared/auth/discovery';
import { ClientCredentialProvider, loadClientSecret, type CredentialLoader } from '../../shared/credentials/clientCredential';
import type { TokenCacheTable } from '../../shared/tokenCache/tableStore';
import { MemoryRows } from './memoryRows';
import { MINIMAL_SETTINGS } from './settings';

/**
 * Unit-speed sign-in: the dev OpenID provider in this process on loopback HTTPS (its throwaway
 * CA trusted by this process only), and a runtime that reaches it with real MSAL and fetch but
 * keeps account rows in memory (no Azurite). Start the provider once per file (beforeAll).
 */
export const UNIT_APP = {
  clientId: 'unit-client',
  redirectUri: 'http://localhost:7071/api/redirect',
  postLogoutRedirectUri: 'http://localhost:7071/api/',
} as const;

export interface UnitProvider {
  readonly idp: DevIdentityProvider;
  readonly tls: DevCertificates;
  readonly clientSecret: string;
  close(): Promise<void>;
}

export async function startUnitProvider(options: Partial<Omit<DevIdentityProviderOptions, 'tls'>> & { client?: Partial<DevClient> } = {}): Promise<UnitProvider> {
  const tls = createDevCertificates();
  trustCertificateAuthority(tls.caCertPem);
  const clientSecret = randomBytes(18).toString('base64url');
  const { client, ...rest } = options;
  const idp = await startDevIdentityProvider({
    tls,
    clients: [{ clientId: UNIT_APP.clientId, clientSecret, redirectUris: [UNIT_APP.redirectUri], postLogoutRedirectUris: [UNIT_APP.postLogoutRedirectUri], ...client }],
    apis: [{ audience: 'api://unit-api', scopes: ['api://unit-api/Data.Read'] }],
    ...rest,
  });
  return { idp, tls, clientSecret, close: () => idp.close() };
}

export type UnitRuntime = Runtime & { readonly rows: MemoryRows; readonly lines: string[] };

/**
 * A runtime for the provider's client: `shape` picks the authority settings (plain OIDC, an
 * Entra-style tenant, B2C user flows), `settings` add or replace any.
 */
export function unitRuntime(provider: UnitProvider, options: { shape?: DevAuthorityShape; settings?: Settings; loaders?: Record<string, CredentialLoader> } = {}): UnitRuntime {
  const config = loadConfig({
    ...MINIMAL_SETTINGS,
    ...authoritySettings(provider.idp.issuer, options.shape),
    AzureAd__ClientId: UNIT_APP.clientId,
    AzureAd__ClientCredentials__0__ClientSecret: provider.clientSecret,
    AzureAd__RedirectUri: UNIT_APP.redirectUri,
    AzureAd__PostLogoutRedirectUri: UNIT_APP.postLogoutRedirectUri,
    ...options.settings,
  });
  const keys = config.session.keySource.kind === 'inline' ? config.session.keySource.keys : [];
  const rows = new MemoryRows();
  const lines: string[] = [];
  const log = (line: string) => void lines.push(line);
  const runtime = {
    config,
    sealer: createCookieSealer(keys),
    // Only the account-row calls sign-in and sign-out make; the Table client has its own suites.
    tokenCache: rows as unknown as TokenCacheTable,
    tableCalls: { reads: 0, writes: 0, deletes: 0, other: 0 },
    keyVault: undefined as unknown as Runtime['keyVault'],
    providers: new ProviderDirectory(config.authority),
    credentials: new ClientCredentialProvider(config.clientCredentials, { ClientSecret: loadClientSecret, ...options.loaders }, log),
    log,
    rows,
    lines,
  };
  return runtime;
}

/** A Cookie request header with the given response cookies, as a browser would send them back. */
export function cookieHeaderOf(cookies: readonly { name: string; value: string }[]): string {
  return cookies.filter((c) => c.value !== '').map((c) => `${c.name}=${c.value}`).join('; ');
}

/** The runtime with the provider's token endpoint moved to `origin` (a gateway a test runs in front of it), same path. */
export function withTokenEndpointAt(runtime: UnitRuntime, origin: string): UnitRuntime {
  const real = runtime.providers;
  const providers = {
    get: async (url?: string) => {
      const found = await real.get(url);
      const metadata = { ...found.metadata, token_endpoint: `${origin}${new URL(found.metadata.token_endpoint).pathname}` };
      return { ...found, metadata, metadataJson: JSON.stringify(metadata) };
    },
  };
  return { ...runtime, providers: providers as unknown as Runtime['providers'] };
}
