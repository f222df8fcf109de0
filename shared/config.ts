import { z } from 'zod';
import { DEFAULT_ABSOLUTE_LIFETIME_SECONDS, DEFAULT_IDLE_TIMEOUT_SECONDS, parseDuration, type SessionLifetimes } from './session/lifetimes';
import { ConfigurationError } from './errors';

/**
 * The app's settings, in Microsoft.Identity.Web's shape (nested with `__`), parsed and validated
 * once into a typed object. This is the only module that looks at environment variables.
 */

export type Settings = Readonly<Record<string, string | undefined>>;

export type AuthorityKind = 'entra' | 'b2c' | 'oidc';

export interface AuthorityConfig {
  readonly kind: AuthorityKind;
  /** The authority MSAL is given (for B2C: the sign-up/sign-in policy's). */
  readonly url: string;
  /** Hosts MSAL may trust without instance discovery. */
  readonly knownAuthorities: readonly string[];
  readonly tenantId?: string;
  readonly b2c?: B2cConfig;
}

export interface B2cConfig {
  readonly instance: string;
  readonly domain: string;
  readonly signUpSignInPolicyId: string;
  readonly resetPasswordPolicyId?: string;
  readonly editProfilePolicyId?: string;
}

export type ClientCredentialSource =
  | { readonly index: number; readonly sourceType: 'ClientSecret'; readonly clientSecret: string }
  | { readonly index: number; readonly sourceType: 'KeyVault'; readonly keyVaultUrl: string; readonly secretName?: string; readonly certificateName?: string; readonly sendX5c: boolean }
  | { readonly index: number; readonly sourceType: 'SignedAssertionFromManagedIdentity'; readonly managedIdentityClientId?: string };

export interface DownstreamApiConfig {
  readonly name: string;
  readonly baseUrl: string;
  readonly scopes: readonly string[];
  readonly requestAppToken: boolean;
}

export type TableConnection =
  | { readonly kind: 'connectionString'; readonly connectionString: string; readonly setting: string }
  | { readonly kind: 'identity'; readonly tableServiceUri: string; readonly managedIdentityClientId?: string; readonly setting: string };

export type SessionKeySource =
  | { readonly kind: 'inline'; readonly keys: readonly Uint8Array[] }
  | { readonly kind: 'keyVault'; readonly keyVaultUrl: string; readonly secretName: string };

/** Where the keys that encrypt cache rows at rest come from; without a setting they are derived from the session keys. */
export type TokenCacheKeySource =
  | { readonly kind: 'inline'; readonly keys: readonly Uint8Array[] }
  | { readonly kind: 'keyVault'; readonly keyVaultUrl: string; readonly secretName: string }
  | { readonly kind: 'derivedFromSessionKeys' };

export interface AppConfig {
  readonly authority: AuthorityConfig;
  readonly clientId: string;
  readonly clientCredentials: readonly ClientCredentialSource[];
  readonly redirectUri: string;
  readonly postLogoutRedirectUri: string;
  /** Always `openid profile offline_access` plus `AzureAd__Scopes`. */
  readonly signInScopes: readonly string[];
  readonly downstreamApis: ReadonlyMap<string, DownstreamApiConfig>;
  readonly tokenCache: { readonly tableName: string; readonly connection: TableConnection; readonly encryption: TokenCacheKeySource };
  readonly session: { readonly keySource: SessionKeySource } & SessionLifetimes;
  /** True when the app runs under the local stack (`npm start`), where a plain client secret is fine. */
  readonly isLocalDevelopment: boolean;
}

export const OIDC_SCOPES = ['openid', 'profile', 'offline_access'] as const;
const DEFAULT_INSTANCE = 'https://login.microsoftonline.com/';
const MICROSOFT_AUTHORITY_HOSTS = [
  'login.microsoftonline.com',
  'login.microsoftonline.us',
  'login.chinacloudapi.cn',
  'login.partner.microsoftonline.cn',
  'login.windows.net',
  'login.microsoft.com',
  'sts.windows.net',
];

function urlWith(protocols: readonly string[], message: string) {
  return z
    .string()
    .trim()
    .superRefine((v, ctx) => {
      if (!URL.canParse(v)) ctx.addIssue({ code: 'custom', message: 'must be an absolute URL' });
      else if (!protocols.includes(new URL(v).protocol)) ctx.addIssue({ code: 'custom', message });
    });
}
const httpsUrl = urlWith(['https:'], 'must use https');
const absoluteHttpUrl = urlWith(['https:', 'http:'], 'must be an http(s) URL');
const identifier = z.string().trim().min(1, 'must not be empty');
// Key Vault object names: 1-127 letters, digits and dashes.
const keyVaultObjectName = z.string().trim().regex(/^[0-9A-Za-z-]{1,127}$/, 'must be a Key Vault object name (1-127 letters, digits or "-")');
const apiName = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

/** Collects problems so that one start-up message names every bad setting at once. */
class SettingsReader {
  readonly problems: { setting: string; message: string }[] = [];
  constructor(private readonly settings: Settings) {}

  raw(name: string): string | undefined {
    const value = this.settings[name];
    return value === undefined || value.trim() === '' ? undefined : value;
  }

  optional<T>(name: string, schema: z.ZodType<T>): T | undefined {
    const value = this.raw(name);
    if (value === undefined) return undefined;
    const parsed = schema.safeParse(value);
    if (parsed.success) return parsed.data;
    this.problems.push({ setting: name, message: parsed.error.issues[0]?.message ?? 'is malformed' });
    return undefined;
  }

  required<T>(name: string, schema: z.ZodType<T>, hint = 'is required'): T | undefined {
    if (this.raw(name) === undefined) {
      this.problems.push({ setting: name, message: hint });
      return undefined;
    }
    return this.optional(name, schema);
  }

  fail(setting: string, message: string): undefined {
    this.problems.push({ setting, message });
    return undefined;
  }

  /** Setting names under a prefix, e.g. the API names of `DownstreamApis__<name>__BaseUrl`. */
  childNames(prefix: string): string[] {
    const names = new Set<string>();
    for (const key of Object.keys(this.settings)) {
      if (!key.startsWith(prefix) || this.settings[key] === undefined) continue;
      const child = key.slice(prefix.length).split('__')[0];
      if (child) names.add(child);
    }
    return [...names].sort();
  }
}

function splitList(value: string | undefined, separator: RegExp = /[\s,]+/): string[] {
  return (value ?? '').split(separator).map((s) => s.trim()).filter(Boolean);
}

function isMicrosoftHost(host: string): boolean {
  return MICROSOFT_AUTHORITY_HOSTS.includes(host.toLowerCase());
}

function withTrailingSlash(url: string): string {
  return url.endsWith('/') ? url : `${url}/`;
}

function readAuthority(r: SettingsReader): AuthorityConfig | undefined {
  const authority = r.optional('AzureAd__Authority', httpsUrl);
  const instance = r.optional('AzureAd__Instance', httpsUrl);
  const tenantId = r.optional('AzureAd__TenantId', identifier);
  const domain = r.optional('AzureAd__Domain', identifier);
  const susi = r.optional('AzureAd__SignUpSignInPolicyId', identifier);

  if (susi) {
    // Azure AD B2C: the authority is {instance}/{domain}/{policy}; one authority per user flow.
    const b2cInstance = instance ?? (authority ? new URL(authority).origin : undefined);
    if (!b2cInstance) return r.fail('AzureAd__Instance', 'is required for Azure AD B2C (e.g. https://contoso.b2clogin.com/)');
    if (!domain) return r.fail('AzureAd__Domain', 'is required for Azure AD B2C (e.g. contoso.onmicrosoft.com)');
    const b2c: B2cConfig = {
      instance: withTrailingSlash(b2cInstance),
      domain,
      signUpSignInPolicyId: susi,
      resetPasswordPolicyId: r.optional('AzureAd__ResetPasswordPolicyId', identifier),
      editProfilePolicyId: r.optional('AzureAd__EditProfilePolicyId', identifier),
    };
    return {
      kind: 'b2c',
      url: b2cAuthorityUrl(b2c, susi),
      knownAuthorities: [new URL(b2c.instance).host],
      b2c,
    };
  }

  if (authority) {
    const url = new URL(authority);
    const trimmed = authority.replace(/\/+$/, '');
    if (isMicrosoftHost(url.hostname)) {
      const tenant = url.pathname.split('/').filter(Boolean)[0];
      if (!tenant) return r.fail('AzureAd__Authority', 'must name a tenant (e.g. https://login.microsoftonline.com/<tenant-id>)');
      return { kind: 'entra', url: trimmed.replace(/\/v2\.0$/, ''), knownAuthorities: [url.host], tenantId: tenant };
    }
    return { kind: 'oidc', url: trimmed, knownAuthorities: [url.host] };
  }

  if (!tenantId) return r.fail('AzureAd__TenantId', 'is required (or set AzureAd__Authority)');
  const base = withTrailingSlash(instance ?? DEFAULT_INSTANCE);
  const host = new URL(base).host;
  return { kind: 'entra', url: `${base}${tenantId}`, knownAuthorities: [host], tenantId };
}

export function b2cAuthorityUrl(b2c: B2cConfig, policy: string): string {
  return `${b2c.instance}${b2c.domain}/${policy}`;
}

function readClientCredentials(r: SettingsReader): ClientCredentialSource[] {
  const sources: ClientCredentialSource[] = [];
  const indexes = r.childNames('AzureAd__ClientCredentials__').map(Number).filter((n) => Number.isInteger(n) && n >= 0);
  for (const i of indexes.sort((a, b) => a - b)) {
    const prefix = `AzureAd__ClientCredentials__${i}__`;
    const sourceType = r.required(`${prefix}SourceType`, identifier);
    if (sourceType === 'ClientSecret') {
      const clientSecret = r.required(`${prefix}ClientSecret`, identifier);
      if (clientSecret) sources.push({ index: i, sourceType, clientSecret });
    } else if (sourceType === 'KeyVault') {
      const keyVaultUrl = r.required(`${prefix}KeyVaultUrl`, httpsUrl);
      const secretName = r.optional(`${prefix}KeyVaultSecretName`, keyVaultObjectName);
      const certificateName = r.optional(`${prefix}KeyVaultCertificateName`, keyVaultObjectName);
      const sendX5c = r.optional(`${prefix}SendX5C`, z.enum(['true', 'false', 'True', 'False'])) ?? 'false';
      if (!secretName && !certificateName) {
        r.fail(`${prefix}KeyVaultSecretName`, `or ${prefix}KeyVaultCertificateName is required with SourceType KeyVault`);
      } else if (keyVaultUrl) {
        sources.push({ index: i, sourceType, keyVaultUrl, secretName, certificateName, sendX5c: sendX5c.toLowerCase() === 'true' });
      }
    } else if (sourceType === 'SignedAssertionFromManagedIdentity') {
      sources.push({ index: i, sourceType, managedIdentityClientId: r.optional(`${prefix}ManagedIdentityClientId`, identifier) });
    } else if (sourceType !== undefined) {
      r.fail(`${prefix}SourceType`, 'must be ClientSecret, KeyVault or SignedAssertionFromManagedIdentity');
    }
  }
  // Microsoft.Identity.Web also accepts a flat AzureAd__ClientSecret.
  const flatSecret = r.optional('AzureAd__ClientSecret', identifier);
  if (flatSecret) sources.push({ index: sources.length, sourceType: 'ClientSecret', clientSecret: flatSecret });
  return sources;
}

function readDownstreamApis(r: SettingsReader): Map<string, DownstreamApiConfig> {
  const apis = new Map<string, DownstreamApiConfig>();
  for (const name of r.childNames('DownstreamApis__')) {
    const prefix = `DownstreamApis__${name}__`;
    if (!apiName.test(name)) {
      r.fail(`${prefix}BaseUrl`, 'the API name must be 1-64 letters, digits, "-" or "_"');
      continue;
    }
    const baseUrl = r.required(`${prefix}BaseUrl`, absoluteHttpUrl);
    const scopes = splitList(r.raw(`${prefix}Scopes`));
    const requestAppToken = (r.optional(`${prefix}RequestAppToken`, z.enum(['true', 'false', 'True', 'False'])) ?? 'false').toLowerCase() === 'true';
    if (scopes.length === 0) r.fail(`${prefix}Scopes`, 'is required: the scopes to request for this API');
    if (requestAppToken && scopes.some((s) => !s.endsWith('/.default'))) {
      r.fail(`${prefix}Scopes`, 'must be "<resource>/.default" when RequestAppToken is true');
    }
    if (baseUrl && scopes.length > 0) {
      const url = new URL(baseUrl);
      if (url.search || url.hash) {
        r.fail(`${prefix}BaseUrl`, 'must not have a query or fragment');
        continue;
      }
      apis.set(name.toLowerCase(), { name, baseUrl: withTrailingSlash(baseUrl), scopes, requestAppToken });
    }
  }
  return apis;
}

function parseConnectionStringEndpoint(connectionString: string): boolean {
  const parts = new Map(
    connectionString.split(';').filter(Boolean).map((p) => {
      const i = p.indexOf('=');
      return [p.slice(0, i).trim().toLowerCase(), p.slice(i + 1)] as const;
    }),
  );
  return parts.has('accountname') || parts.has('tableendpoint') || parts.has('usedevelopmentstorage');
}

function readTokenCache(r: SettingsReader): Omit<AppConfig['tokenCache'], 'encryption'> | undefined {
  const tableName = r.optional('TokenCache__TableName', z.string().regex(/^[A-Za-z][A-Za-z0-9]{2,62}$/, 'must be 3-63 letters or digits, starting with a letter')) ?? 'TokenCache';
  const connectionString = z.string().refine(parseConnectionStringEndpoint, 'must be a storage connection string (AccountName=… or TableEndpoint=…)');

  const own = r.optional('TokenCache__ConnectionString', connectionString);
  if (own) return { tableName, connection: { kind: 'connectionString', connectionString: own, setting: 'TokenCache__ConnectionString' } };
  const ownUri = r.optional('TokenCache__TableServiceUri', absoluteHttpUrl);
  if (ownUri) {
    return {
      tableName,
      connection: { kind: 'identity', tableServiceUri: ownUri, managedIdentityClientId: r.optional('TokenCache__ClientId', identifier), setting: 'TokenCache__TableServiceUri' },
    };
  }
  if (r.raw('TokenCache__ConnectionString') || r.raw('TokenCache__TableServiceUri')) return undefined;

  const webJobs = r.optional('AzureWebJobsStorage', connectionString);
  if (webJobs) return { tableName, connection: { kind: 'connectionString', connectionString: webJobs, setting: 'AzureWebJobsStorage' } };
  const webJobsUri = r.optional('AzureWebJobsStorage__tableServiceUri', absoluteHttpUrl);
  const account = r.optional('AzureWebJobsStorage__accountName', z.string().regex(/^[a-z0-9]{3,24}$/, 'must be a storage account name'));
  const tableServiceUri = webJobsUri ?? (account ? `https://${account}.table.core.windows.net` : undefined);
  if (tableServiceUri) {
    return {
      tableName,
      connection: {
        kind: 'identity',
        tableServiceUri,
        managedIdentityClientId: r.optional('AzureWebJobsStorage__clientId', identifier),
        setting: webJobsUri ? 'AzureWebJobsStorage__tableServiceUri' : 'AzureWebJobsStorage__accountName',
      },
    };
  }
  return r.fail('TokenCache__ConnectionString', 'or TokenCache__TableServiceUri (or AzureWebJobsStorage) is required: where the token cache table lives');
}

const sessionKey = z
  .string()
  .regex(/^[A-Za-z0-9_-]+$/, 'must be base64url')
  .transform((v) => new Uint8Array(Buffer.from(v, 'base64url')))
  .refine((k) => k.length === 32, 'each key must be 32 bytes (43 base64url characters)');

/**
 * Reads a comma-separated list of base64url 32-byte session keys (`Session__Keys`, or the Key
 * Vault secret that holds them). A malformed list gives a message that never quotes the value.
 */
export function parseSessionKeys(value: string): { readonly keys: Uint8Array[] } | { readonly problem: string } {
  const keys: Uint8Array[] = [];
  for (const [i, part] of splitList(value, /,/).entries()) {
    const parsed = sessionKey.safeParse(part);
    if (!parsed.success) return { problem: `key ${i + 1} ${parsed.error.issues[0]?.message ?? 'is malformed'}` };
    keys.push(parsed.data);
  }
  return keys.length > 0 ? { keys } : { problem: 'must hold at least one key' };
}

function readSession(r: SettingsReader): AppConfig['session'] | undefined {
  const lifetimes = readSessionLifetimes(r);
  const inline = r.raw('Session__Keys');
  if (inline) {
    const parsed = parseSessionKeys(inline);
    if ('problem' in parsed) return r.fail('Session__Keys', parsed.problem);
    return lifetimes && { keySource: { kind: 'inline', keys: parsed.keys }, ...lifetimes };
  }
  const keyVaultUrl = r.optional('Session__KeyVaultUrl', httpsUrl);
  if (keyVaultUrl) {
    const secretName = r.required('Session__KeyVaultSecretName', keyVaultObjectName);
    return secretName && lifetimes ? { keySource: { kind: 'keyVault', keyVaultUrl, secretName }, ...lifetimes } : undefined;
  }
  return r.fail('Session__Keys', 'is required (comma-separated base64url 32-byte keys), or Session__KeyVaultUrl with Session__KeyVaultSecretName');
}

const durationSetting = z.string().transform((v, ctx) => {
  const seconds = parseDuration(v);
  if (seconds === undefined || seconds <= 0) {
    ctx.addIssue({ code: 'custom', message: 'must be a positive duration: ISO 8601 (PT30M, PT8H, P14D) or [d.]hh:mm:ss (00:30:00, 14.00:00:00)' });
    return z.NEVER;
  }
  return seconds;
});

function readSessionLifetimes(r: SettingsReader): SessionLifetimes | undefined {
  const idle = r.optional('Session__IdleTimeout', durationSetting) ?? DEFAULT_IDLE_TIMEOUT_SECONDS;
  const absolute = r.optional('Session__AbsoluteLifetime', durationSetting) ?? DEFAULT_ABSOLUTE_LIFETIME_SECONDS;
  if (absolute < idle) return r.fail('Session__AbsoluteLifetime', 'must be at least Session__IdleTimeout');
  return { idleTimeoutSeconds: idle, absoluteLifetimeSeconds: absolute };
}

function readTokenCacheKeys(r: SettingsReader): TokenCacheKeySource | undefined {
  const inline = r.raw('TokenCache__EncryptionKeys');
  if (inline) {
    const parsed = parseSessionKeys(inline);
    return 'problem' in parsed ? r.fail('TokenCache__EncryptionKeys', parsed.problem) : { kind: 'inline', keys: parsed.keys };
  }
  const keyVaultUrl = r.optional('TokenCache__KeyVaultUrl', httpsUrl);
  if (keyVaultUrl) {
    const secretName = r.required('TokenCache__KeyVaultSecretName', keyVaultObjectName);
    return secretName ? { kind: 'keyVault', keyVaultUrl, secretName } : undefined;
  }
  if (r.raw('TokenCache__KeyVaultSecretName')) return r.fail('TokenCache__KeyVaultUrl', 'is required with TokenCache__KeyVaultSecretName');
  return { kind: 'derivedFromSessionKeys' };
}

function readRedirectUris(r: SettingsReader): { redirectUri?: string; postLogoutRedirectUri?: string } {
  const redirectUri = r.required('AzureAd__RedirectUri', absoluteHttpUrl, 'is required: the absolute URL of /api/redirect registered with the provider');
  const postLogout = r.optional('AzureAd__PostLogoutRedirectUri', absoluteHttpUrl);
  // Back to the app's page at /api/ (functions/web.ts): under the Functions host, / is the host's own page.
  return { redirectUri, postLogoutRedirectUri: postLogout ?? (redirectUri ? `${new URL(redirectUri).origin}/api/` : undefined) };
}

/** Parses and validates every setting; throws one ConfigurationError naming each bad one. */
export function loadConfig(settings: Settings): AppConfig {
  const r = new SettingsReader(settings);
  const authority = readAuthority(r);
  const clientId = r.required('AzureAd__ClientId', identifier);
  const clientCredentials = readClientCredentials(r);
  const { redirectUri, postLogoutRedirectUri } = readRedirectUris(r);
  const extraScopes = splitList(r.raw('AzureAd__Scopes'));
  const downstreamApis = readDownstreamApis(r);
  const tokenCacheTable = readTokenCache(r);
  const encryption = readTokenCacheKeys(r);
  const tokenCache = tokenCacheTable && encryption ? { ...tokenCacheTable, encryption } : undefined;
  const session = readSession(r);
  const isLocalDevelopment = r.raw('AZURE_FUNCTIONS_ENVIRONMENT') === 'Development';

  if (clientCredentials.length === 0 && r.problems.length === 0) {
    r.fail('AzureAd__ClientCredentials__0__SourceType', 'is required: a confidential client needs a credential (ClientSecret, KeyVault or SignedAssertionFromManagedIdentity)');
  }
  if (r.problems.length > 0 || !authority || !clientId || !redirectUri || !postLogoutRedirectUri || !tokenCache || !session) {
    throw new ConfigurationError(r.problems.length > 0 ? r.problems : [{ setting: 'AzureAd', message: 'is incomplete' }]);
  }
  return {
    authority,
    clientId,
    clientCredentials,
    redirectUri,
    postLogoutRedirectUri,
    signInScopes: [...new Set([...OIDC_SCOPES, ...extraScopes])],
    downstreamApis,
    tokenCache,
    session,
    isLocalDevelopment,
  };
}

/** The process environment: the only place settings come from in the Functions host. */
export function processSettings(): Settings {
  return process.env;
}
