// zod's mini build: functions tree-shaken into the bundle, no locale tables, cheap schemas (a cold start evaluates this at the first request).
import * as z from 'zod/mini';
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
  /** How long a call to the API may take, its streamed answer included. */
  readonly timeoutMs: number;
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
  /** `AzureAd__AllowedTenants`, lower-cased: when set, only users whose ID token `tid` is listed may sign in. */
  readonly allowedTenants?: readonly string[];
  /** `AzureAd__ClientCapabilities` (`cp1`): declared to the provider; the app then handles claims challenges. */
  readonly clientCapabilities: readonly string[];
  /** Application Insights, when APPLICATIONINSIGHTS_CONNECTION_STRING is set (off otherwise, as locally). */
  readonly telemetry?: TelemetryConfig;
  /** What a bearer token at `/api/obo` must carry (Microsoft.Identity.Web's web API checks). */
  readonly obo: OboConfig;
}

export interface OboConfig {
  /** `aud` values accepted: `AzureAd__Audience`, or the client id and its default App ID URI `api://<client id>`. */
  readonly audiences: readonly string[];
  /** `Obo__RequiredScopes`: any one of them in `scp` lets a delegated token in (default `access_as_user`). */
  readonly requiredScopes: readonly string[];
  /** `Obo__RequiredAppRoles`: any one of them in `roles` lets an app-only token in. */
  readonly requiredAppRoles: readonly string[];
}

export interface TelemetryConfig {
  readonly connectionString: string;
  /** From APPLICATIONINSIGHTS_AUTHENTICATION_STRING `ClientId=…;Authorization=AAD`: the user-assigned identity. */
  readonly managedIdentityClientId?: string;
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
/** Microsoft.Identity.Web's `MicrosoftGraph` default: a `graph` API needs only its scopes. */
export const GRAPH_API_NAME = 'graph';
export const GRAPH_DEFAULT_BASE_URL = 'https://graph.microsoft.com/v1.0';
/** Entra External ID (customer tenants): `https://<tenant>.ciamlogin.com/<tenant-id>/v2.0`. */
const EXTERNAL_ID_HOST_SUFFIX = '.ciamlogin.com';
const TENANT_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const DEFAULT_API_TIMEOUT_SECONDS = 30;
// Below the request's own deadline (shared/deadline.ts), itself well below the host's 230 s.
const MAX_API_TIMEOUT_SECONDS = 110;

/** A value copied from local.settings.example.json and never filled in: `<your-tenant-id>`, `{client-id}`, `your-...`. */
const PLACEHOLDER = /<[^<>]*>|^\{[^{}]*\}$|^(your|replace|change)[-_ ]?(me|.*id|.*secret|.*key)?$|^(todo|tbd|xxx+)$/i;

export function isPlaceholder(value: string): boolean {
  return PLACEHOLDER.test(value.trim());
}

/** Loopback hosts: a local emulator or the dev stack, where plain http never leaves the machine. */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.toLowerCase().replace(/^\[|\]$/g, '');
  return host === 'localhost' || host.endsWith('.localhost') || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

type UrlRule = 'https' | 'http(s)' | 'https-or-loopback-http';

function urlSetting(rule: UrlRule, example: string) {
  return z.string().check(
    z.trim(),
    z.superRefine((v, ctx) => {
      const fail = (message: string) => ctx.addIssue({ code: 'custom', message, input: v });
      if (!URL.canParse(v)) return fail(`is not an absolute URL; set it to one such as ${example}`);
      const url = new URL(v);
      if (url.protocol === 'https:') return;
      if (url.protocol === 'http:' && rule === 'http(s)') return;
      if (url.protocol === 'http:' && rule === 'https-or-loopback-http' && isLoopbackHost(url.hostname)) return;
      if (url.protocol === 'http:') {
        return fail(
          rule === 'https-or-loopback-http'
            ? `uses http on a host that is not loopback, so tokens would travel in clear; use https (such as ${example}); http is accepted only for localhost and 127.0.0.1`
            : `uses http; use an https URL such as ${example}`,
        );
      }
      fail(`uses ${url.protocol.replace(/:$/, '')}; use ${rule === 'http(s)' ? 'an http or https' : 'an https'} URL such as ${example}`);
    }),
  );
}
const identifier = z.string().check(z.trim(), z.minLength(1, 'is empty; set a value or remove the setting'));
const booleanSetting = z.enum(['true', 'false', 'True', 'False'], { error: 'is not a boolean; set it to true or false' });
// Key Vault object names: 1-127 letters, digits and dashes.
const keyVaultObjectName = z.string().check(z.trim(), z.regex(/^[0-9A-Za-z-]{1,127}$/, 'is not a Key Vault object name; use 1 to 127 letters, digits or dashes, such as app-client-secret'));
const apiName = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;
const KEY_COMMAND = `node -e "console.log(require('crypto').randomBytes(32).toString('base64url'))"`;

/** What a right value looks like, for the settings a newcomer fills in first (used when one is missing or a placeholder). */
const EXPECTED: Readonly<Record<string, string>> = {
  AzureAd__TenantId: 'the directory (tenant) id from the app registration\'s Overview page (a GUID) or a domain such as contoso.onmicrosoft.com',
  AzureAd__ClientId: 'the application (client) id from the app registration\'s Overview page',
  AzureAd__ClientSecret: 'a client secret from the app registration\'s "Certificates & secrets" page',
  AzureAd__RedirectUri: 'the absolute URL of /api/redirect registered with the provider, such as http://localhost:7071/api/redirect',
  Session__Keys: `comma-separated base64url keys of 32 random bytes (43 characters each); make one with: ${KEY_COMMAND}`,
};

function expectedFor(setting: string): string {
  const generic = setting.replace(/__\d+__/, '__N__').replace(/^DownstreamApis__[^_]+__/, 'DownstreamApis__x__');
  return EXPECTED[setting] ?? EXPECTED[generic] ?? (generic === 'AzureAd__ClientCredentials__N__ClientSecret' ? EXPECTED['AzureAd__ClientSecret']! : 'the real value');
}

/** Collects problems so that one start-up message names every bad setting at once. */
class SettingsReader {
  readonly problems: { setting: string; message: string }[] = [];
  private readonly seen = new Set<string>();
  constructor(private readonly settings: Settings) {}

  /** The trimmed-empty value counts as unset; a placeholder is reported (once) and reads as unset. */
  raw(name: string): string | undefined {
    const value = this.settings[name];
    if (value === undefined || value.trim() === '') return undefined;
    if (isPlaceholder(value)) {
      this.fail(name, `still holds a placeholder from local.settings.example.json; set it to ${expectedFor(name)}`);
      return undefined;
    }
    return value;
  }

  /** True when the setting has any value at all, placeholder or not: the user meant to set it. */
  present(name: string): boolean {
    const value = this.settings[name];
    return value !== undefined && value.trim() !== '';
  }

  optional<T>(name: string, schema: z.ZodMiniType<T>): T | undefined {
    const value = this.raw(name);
    if (value === undefined) return undefined;
    const parsed = schema.safeParse(value);
    if (parsed.success) return parsed.data;
    this.fail(name, parsed.error.issues[0]?.message ?? 'is malformed');
    return undefined;
  }

  required<T>(name: string, schema: z.ZodMiniType<T>, hint = `is missing; set it to ${expectedFor(name)}`): T | undefined {
    if (!this.present(name)) {
      this.fail(name, hint);
      return undefined;
    }
    return this.optional(name, schema);
  }

  fail(setting: string, message: string): undefined {
    const key = `${setting}\n${message}`;
    if (!this.seen.has(key)) {
      this.seen.add(key);
      this.problems.push({ setting, message });
    }
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
  const name = host.toLowerCase();
  return MICROSOFT_AUTHORITY_HOSTS.includes(name) || name.endsWith(EXTERNAL_ID_HOST_SUFFIX);
}

function withTrailingSlash(url: string): string {
  return url.endsWith('/') ? url : `${url}/`;
}

const AUTHORITY_EXAMPLE = 'https://login.microsoftonline.com/<tenant-id>/v2.0';
const INSTANCE_EXAMPLE = 'https://login.microsoftonline.com/';

function readAuthority(r: SettingsReader): AuthorityConfig | undefined {
  const authority = r.optional('AzureAd__Authority', urlSetting('https', AUTHORITY_EXAMPLE.replace('<tenant-id>', 'contoso.onmicrosoft.com')));
  const instance = r.optional('AzureAd__Instance', urlSetting('https', INSTANCE_EXAMPLE));
  const tenantId = r.optional('AzureAd__TenantId', identifier);
  const domain = r.optional('AzureAd__Domain', identifier);
  const susi = r.optional('AzureAd__SignUpSignInPolicyId', identifier);

  if (susi || r.present('AzureAd__SignUpSignInPolicyId')) {
    // Azure AD B2C: the authority is {instance}/{domain}/{policy}; one authority per user flow.
    const b2cInstance = instance ?? (authority ? new URL(authority).origin : undefined);
    if (!b2cInstance && !r.present('AzureAd__Instance') && !r.present('AzureAd__Authority')) {
      r.fail('AzureAd__Instance', 'is missing, and Azure AD B2C needs it; set it to your B2C login host, such as https://contoso.b2clogin.com/');
    }
    if (!domain && !r.present('AzureAd__Domain')) r.fail('AzureAd__Domain', 'is missing, and Azure AD B2C needs it; set it to your B2C tenant\'s domain, such as contoso.onmicrosoft.com');
    if (!susi || !b2cInstance || !domain) return undefined;
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
      // External ID's authority may leave the tenant out (https://contoso.ciamlogin.com/): its subdomain names it.
      const tenant = url.pathname.split('/').filter(Boolean)[0] ?? (url.hostname.toLowerCase().endsWith(EXTERNAL_ID_HOST_SUFFIX) ? `${url.hostname.split('.')[0]}.onmicrosoft.com` : undefined);
      if (!tenant) return r.fail('AzureAd__Authority', `has no tenant in its path; set it to one such as ${AUTHORITY_EXAMPLE}`);
      if (!url.pathname.split('/').filter(Boolean)[0]) return { kind: 'entra', url: `${trimmed}/${tenant}`, knownAuthorities: [url.host], tenantId: tenant };
      return { kind: 'entra', url: trimmed.replace(/\/v2\.0$/, ''), knownAuthorities: [url.host], tenantId: tenant };
    }
    return { kind: 'oidc', url: trimmed, knownAuthorities: [url.host] };
  }
  // An Authority that is set but wrong has its own message: asking for TenantId as well would contradict it.
  if (r.present('AzureAd__Authority')) return undefined;

  if (!tenantId) {
    if (!r.present('AzureAd__TenantId')) {
      r.fail('AzureAd__TenantId', `is missing; set it to ${expectedFor('AzureAd__TenantId')}, or set AzureAd__Authority to the whole authority URL (${AUTHORITY_EXAMPLE}, or any OpenID Connect issuer over https)`);
    }
    return undefined;
  }
  if (r.present('AzureAd__Instance') && !instance) return undefined;
  const base = withTrailingSlash(instance ?? DEFAULT_INSTANCE);
  const host = new URL(base).host;
  return { kind: 'entra', url: `${base}${tenantId}`, knownAuthorities: [host], tenantId };
}

export function b2cAuthorityUrl(b2c: B2cConfig, policy: string): string {
  return `${b2c.instance}${b2c.domain}/${policy}`;
}

const SOURCE_TYPES = 'ClientSecret, KeyVault or SignedAssertionFromManagedIdentity';
const KEY_VAULT_URL_EXAMPLE = 'https://contoso-kv.vault.azure.net/';

function readClientCredentials(r: SettingsReader): ClientCredentialSource[] {
  const sources: ClientCredentialSource[] = [];
  const indexes = r.childNames('AzureAd__ClientCredentials__').map(Number).filter((n) => Number.isInteger(n) && n >= 0);
  for (const i of indexes.sort((a, b) => a - b)) {
    const prefix = `AzureAd__ClientCredentials__${i}__`;
    const sourceType = r.required(`${prefix}SourceType`, identifier, `is missing; set it to ${SOURCE_TYPES}`);
    if (sourceType === 'ClientSecret') {
      const clientSecret = r.required(`${prefix}ClientSecret`, identifier, `is missing, and SourceType ClientSecret needs it; set it to ${expectedFor('AzureAd__ClientSecret')}`);
      if (clientSecret) sources.push({ index: i, sourceType, clientSecret });
    } else if (sourceType === 'KeyVault') {
      const keyVaultUrl = r.required(`${prefix}KeyVaultUrl`, urlSetting('https', KEY_VAULT_URL_EXAMPLE), `is missing, and SourceType KeyVault needs it; set it to the vault's URL, such as ${KEY_VAULT_URL_EXAMPLE}`);
      const secretName = r.optional(`${prefix}KeyVaultSecretName`, keyVaultObjectName);
      const certificateName = r.optional(`${prefix}KeyVaultCertificateName`, keyVaultObjectName);
      const sendX5c = r.optional(`${prefix}SendX5C`, booleanSetting) ?? 'false';
      if (!secretName && !certificateName) {
        if (!r.present(`${prefix}KeyVaultSecretName`) && !r.present(`${prefix}KeyVaultCertificateName`)) {
          r.fail(`${prefix}KeyVaultCertificateName`, `is missing, and SourceType KeyVault needs it or ${prefix}KeyVaultSecretName; set one to the name of the certificate (or of the secret) that holds the client credential`);
        }
      } else if (keyVaultUrl) {
        sources.push({ index: i, sourceType, keyVaultUrl, secretName, certificateName, sendX5c: sendX5c.toLowerCase() === 'true' });
      }
    } else if (sourceType === 'SignedAssertionFromManagedIdentity') {
      sources.push({ index: i, sourceType, managedIdentityClientId: r.optional(`${prefix}ManagedIdentityClientId`, identifier) });
    } else if (sourceType !== undefined) {
      r.fail(`${prefix}SourceType`, `is not a known source type; set it to ${SOURCE_TYPES}`);
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
      r.fail(`${prefix}BaseUrl`, 'has an API name the proxy route cannot carry; name the API with 1 to 64 letters, digits, "-" or "_", such as DownstreamApis__graph__BaseUrl');
      continue;
    }
    const isGraphDefault = name.toLowerCase() === GRAPH_API_NAME && !r.raw(`${prefix}BaseUrl`);
    const baseUrl = isGraphDefault
      ? GRAPH_DEFAULT_BASE_URL
      : r.required(`${prefix}BaseUrl`, urlSetting('https-or-loopback-http', 'https://graph.microsoft.com/v1.0/'), `is missing; set it to the API's base URL, such as https://graph.microsoft.com/v1.0/`);
    const scopesPresent = r.present(`${prefix}Scopes`);
    const scopes = splitList(r.raw(`${prefix}Scopes`));
    const requestAppToken = (r.optional(`${prefix}RequestAppToken`, booleanSetting) ?? 'false').toLowerCase() === 'true';
    const timeoutSeconds = r.optional(`${prefix}TimeoutSeconds`, z.coerce.number({ error: 'is not a number; set it to a whole number of seconds, such as 30' }).check(z.refine(Number.isInteger, 'must be a whole number of seconds'), z.minimum(1, 'must be at least 1'), z.maximum(MAX_API_TIMEOUT_SECONDS, `must be at most ${MAX_API_TIMEOUT_SECONDS} (requests are stopped after 120 s)`))) ?? DEFAULT_API_TIMEOUT_SECONDS;
    if (scopes.length === 0 && !scopesPresent) r.fail(`${prefix}Scopes`, 'is missing; set it to the scopes the proxy requests for this API (space separated), such as https://graph.microsoft.com/User.Read');
    if (requestAppToken && scopes.some((s) => !s.endsWith('/.default'))) {
      r.fail(`${prefix}Scopes`, 'names delegated scopes, but RequestAppToken is true and app tokens take only "<resource>/.default"; set it to such as https://graph.microsoft.com/.default');
    }
    if (baseUrl && scopes.length > 0) {
      const url = new URL(baseUrl);
      if (url.search || url.hash) {
        r.fail(`${prefix}BaseUrl`, 'has a query or fragment, which the proxy cannot append paths to; set it to the URL without them, such as https://graph.microsoft.com/v1.0/');
        continue;
      }
      apis.set(name.toLowerCase(), { name, baseUrl: withTrailingSlash(baseUrl), scopes, requestAppToken, timeoutMs: timeoutSeconds * 1000 });
    }
  }
  return apis;
}

/** A storage connection string's `Name=value` parts, by lower-cased name (a value may hold '=', as a base64 key does). */
export function connectionStringParts(connectionString: string): ReadonlyMap<string, string> {
  return new Map(
    connectionString.split(';').filter(Boolean).map((p) => {
      const i = p.indexOf('=');
      return [p.slice(0, i).trim().toLowerCase(), p.slice(i + 1)] as const;
    }),
  );
}

function parseConnectionStringEndpoint(connectionString: string): boolean {
  const parts = connectionStringParts(connectionString);
  return parts.has('accountname') || parts.has('tableendpoint') || parts.has('usedevelopmentstorage');
}

const TABLE_URI_EXAMPLE = 'https://<account>.table.core.windows.net';

function readTokenCache(r: SettingsReader): Omit<AppConfig['tokenCache'], 'encryption'> | undefined {
  const tableName = r.optional('TokenCache__TableName', z.string().check(z.regex(/^[A-Za-z][A-Za-z0-9]{2,62}$/, 'is not a table name; use 3 to 63 letters or digits starting with a letter, such as TokenCache'))) ?? 'TokenCache';
  const connectionString = z.string().check(z.refine(parseConnectionStringEndpoint, 'is not a storage connection string; use one with AccountName=… or TableEndpoint=… (from the storage account\'s "Access keys" page), or UseDevelopmentStorage=true for Azurite'));
  const tableUri = urlSetting('https-or-loopback-http', TABLE_URI_EXAMPLE);

  const own = r.optional('TokenCache__ConnectionString', connectionString);
  if (own) return { tableName, connection: { kind: 'connectionString', connectionString: own, setting: 'TokenCache__ConnectionString' } };
  const ownUri = r.optional('TokenCache__TableServiceUri', tableUri);
  if (ownUri) {
    return {
      tableName,
      connection: { kind: 'identity', tableServiceUri: ownUri, managedIdentityClientId: r.optional('TokenCache__ClientId', identifier), setting: 'TokenCache__TableServiceUri' },
    };
  }
  if (r.present('TokenCache__ConnectionString') || r.present('TokenCache__TableServiceUri')) return undefined;

  const webJobs = r.optional('AzureWebJobsStorage', connectionString);
  if (webJobs) return { tableName, connection: { kind: 'connectionString', connectionString: webJobs, setting: 'AzureWebJobsStorage' } };
  const webJobsUri = r.optional('AzureWebJobsStorage__tableServiceUri', tableUri);
  const account = r.optional('AzureWebJobsStorage__accountName', z.string().check(z.regex(/^[a-z0-9]{3,24}$/, 'is not a storage account name; use 3 to 24 lower-case letters or digits, such as stcontoso')));
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
  if (['AzureWebJobsStorage', 'AzureWebJobsStorage__tableServiceUri', 'AzureWebJobsStorage__accountName'].some((n) => r.present(n))) return undefined;
  return r.fail('TokenCache__ConnectionString', `is missing, and so are TokenCache__TableServiceUri and AzureWebJobsStorage; set one of them to where the token cache table lives (a connection string, or a table service URI such as ${TABLE_URI_EXAMPLE} for the app's managed identity)`);
}

const SESSION_KEY_BYTES = 32;

/**
 * Reads a comma-separated list of base64url 32-byte session keys (`Session__Keys`, or the Key
 * Vault secret that holds them). A malformed list gives a message that never quotes the value.
 */
export function parseSessionKeys(value: string): { readonly keys: Uint8Array[] } | { readonly problem: string } {
  const keys: Uint8Array[] = [];
  const parts = splitList(value, /,/);
  const right = `each key must be ${SESSION_KEY_BYTES} random bytes in base64url (43 characters); make one with: ${KEY_COMMAND}`;
  for (const [i, part] of parts.entries()) {
    const which = parts.length > 1 ? `key ${i + 1} of ${parts.length}` : 'the key';
    if (!/^[A-Za-z0-9_-]+$/.test(part)) return { problem: `${which} is not base64url (only letters, digits, "-" and "_"); ${right}` };
    const bytes = new Uint8Array(Buffer.from(part, 'base64url'));
    if (bytes.length !== SESSION_KEY_BYTES) return { problem: `${which} is ${bytes.length} bytes long; ${right}` };
    keys.push(bytes);
  }
  return keys.length > 0 ? { keys } : { problem: `holds no key; ${right}` };
}

function readSession(r: SettingsReader): AppConfig['session'] | undefined {
  const lifetimes = readSessionLifetimes(r);
  if (r.present('Session__Keys')) {
    const inline = r.raw('Session__Keys');
    if (inline === undefined) return undefined;
    const parsed = parseSessionKeys(inline);
    if ('problem' in parsed) return r.fail('Session__Keys', parsed.problem);
    return lifetimes && { keySource: { kind: 'inline', keys: parsed.keys }, ...lifetimes };
  }
  const keyVaultUrl = r.optional('Session__KeyVaultUrl', urlSetting('https', KEY_VAULT_URL_EXAMPLE));
  if (keyVaultUrl) {
    const secretName = r.required('Session__KeyVaultSecretName', keyVaultObjectName, 'is missing, and Session__KeyVaultUrl needs it; set it to the name of the secret that holds the session keys');
    return secretName && lifetimes ? { keySource: { kind: 'keyVault', keyVaultUrl, secretName }, ...lifetimes } : undefined;
  }
  if (r.present('Session__KeyVaultUrl')) return undefined;
  return r.fail('Session__Keys', `is missing; set it to ${expectedFor('Session__Keys')}, or set Session__KeyVaultUrl and Session__KeyVaultSecretName to a Key Vault secret that holds them`);
}

const durationSetting = z.pipe(
  z.string(),
  z.transform((v, ctx) => {
    const seconds = parseDuration(v);
    if (seconds === undefined || seconds <= 0) {
      ctx.issues.push({ code: 'custom', message: 'is not a positive duration; use ISO 8601 (PT30M, PT8H, P14D) or [d.]hh:mm:ss (00:30:00, 14.00:00:00)', input: v });
      return z.NEVER;
    }
    return seconds;
  }),
);

function readSessionLifetimes(r: SettingsReader): SessionLifetimes | undefined {
  const idle = r.optional('Session__IdleTimeout', durationSetting) ?? DEFAULT_IDLE_TIMEOUT_SECONDS;
  const absolute = r.optional('Session__AbsoluteLifetime', durationSetting) ?? DEFAULT_ABSOLUTE_LIFETIME_SECONDS;
  if (absolute < idle) return r.fail('Session__AbsoluteLifetime', 'is shorter than Session__IdleTimeout; set it to at least the idle timeout (or shorten Session__IdleTimeout)');
  return { idleTimeoutSeconds: idle, absoluteLifetimeSeconds: absolute };
}

function readTokenCacheKeys(r: SettingsReader): TokenCacheKeySource | undefined {
  if (r.present('TokenCache__EncryptionKeys')) {
    const inline = r.raw('TokenCache__EncryptionKeys');
    if (inline === undefined) return undefined;
    const parsed = parseSessionKeys(inline);
    return 'problem' in parsed ? r.fail('TokenCache__EncryptionKeys', parsed.problem) : { kind: 'inline', keys: parsed.keys };
  }
  const keyVaultUrl = r.optional('TokenCache__KeyVaultUrl', urlSetting('https', KEY_VAULT_URL_EXAMPLE));
  if (keyVaultUrl) {
    const secretName = r.required('TokenCache__KeyVaultSecretName', keyVaultObjectName, 'is missing, and TokenCache__KeyVaultUrl needs it; set it to the name of the secret that holds the cache encryption keys');
    return secretName ? { kind: 'keyVault', keyVaultUrl, secretName } : undefined;
  }
  if (r.present('TokenCache__KeyVaultUrl')) return undefined;
  if (r.present('TokenCache__KeyVaultSecretName')) {
    return r.fail('TokenCache__KeyVaultUrl', `is missing, and TokenCache__KeyVaultSecretName needs it; set it to the vault's URL, such as ${KEY_VAULT_URL_EXAMPLE}`);
  }
  return { kind: 'derivedFromSessionKeys' };
}

function readRedirectUris(r: SettingsReader): { redirectUri?: string; postLogoutRedirectUri?: string } {
  const example = 'http://localhost:7071/api/redirect';
  const redirectUri = r.required('AzureAd__RedirectUri', urlSetting('https-or-loopback-http', example));
  const postLogout = r.optional('AzureAd__PostLogoutRedirectUri', urlSetting('https-or-loopback-http', 'http://localhost:7071/api/'));
  // Back to the app's page at /api/ (functions/web.ts): under the Functions host, / is the host's own page.
  return { redirectUri, postLogoutRedirectUri: postLogout ?? (redirectUri ? `${new URL(redirectUri).origin}/api/` : undefined) };
}

/** Parses and validates every setting; throws one ConfigurationError naming every bad one. */
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
  const allowedTenants = readAllowedTenants(r);
  const telemetry = readTelemetry(r);
  const obo = readObo(r, clientId);

  const anyCredentialSetting = r.childNames('AzureAd__ClientCredentials__').length > 0 || r.present('AzureAd__ClientSecret');
  if (clientCredentials.length === 0 && !anyCredentialSetting) {
    r.fail('AzureAd__ClientCredentials__0__SourceType', `is missing, and a confidential client needs a credential; set it to ${SOURCE_TYPES} with that source's settings`);
  }
  if (r.problems.length > 0 || !authority || !clientId || !redirectUri || !postLogoutRedirectUri || !tokenCache || !session || !obo) {
    throw new ConfigurationError(r.problems.length > 0 ? r.problems : [{ setting: 'AzureAd', message: 'is incomplete; see the settings table in the README' }]);
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
    ...(allowedTenants ? { allowedTenants } : {}),
    ...(telemetry ? { telemetry } : {}),
    clientCapabilities: splitList(r.raw('AzureAd__ClientCapabilities')),
    obo,
  };
}

/** The scope Entra's "Expose an API" page suggests first, and Microsoft.Identity.Web's templates require. */
export const DEFAULT_OBO_SCOPE = 'access_as_user';
// Tokens carry scope values without the App ID URI: `access_as_user`, never `api://…/access_as_user`.
const SHORT_SCOPE = /^[!#-[\]-~]{1,256}$/;

function readObo(r: SettingsReader, clientId: string | undefined): OboConfig | undefined {
  const audienceSetting = r.raw('AzureAd__Audience');
  const audiences = splitList(audienceSetting);
  if (audienceSetting !== undefined && audiences.length === 0) return r.fail('AzureAd__Audience', 'holds no audience; set it to the App ID URI of the app\'s API (such as api://<client id>) or its client id, or remove it');
  const scopes = splitList(r.raw('Obo__RequiredScopes'));
  const roles = splitList(r.raw('Obo__RequiredAppRoles'));
  const uri = scopes.find((s) => s.includes('/'));
  if (uri) return r.fail('Obo__RequiredScopes', `names the full scope ${uri}, but tokens carry the short name in scp; list short names such as ${uri.slice(uri.lastIndexOf('/') + 1) || DEFAULT_OBO_SCOPE}`);
  if (scopes.some((s) => !SHORT_SCOPE.test(s))) return r.fail('Obo__RequiredScopes', `lists a value that is not a scope name; list scope names (space or comma separated) such as ${DEFAULT_OBO_SCOPE}`);
  if (roles.some((s) => !SHORT_SCOPE.test(s))) return r.fail('Obo__RequiredAppRoles', 'lists a value that is not an app role; list app role values (space or comma separated) such as Data.Read.All');
  if (!clientId) return undefined;
  return {
    audiences: audiences.length > 0 ? audiences : [clientId, `api://${clientId}`],
    // Neither setting: Microsoft.Identity.Web refuses a token without scp or roles, so a scope is always required.
    requiredScopes: scopes.length === 0 && roles.length === 0 ? [DEFAULT_OBO_SCOPE] : scopes,
    requiredAppRoles: roles,
  };
}

function readAllowedTenants(r: SettingsReader): string[] | undefined {
  const raw = r.raw('AzureAd__AllowedTenants');
  if (raw === undefined) return undefined;
  const tenants = splitList(raw).map((t) => t.toLowerCase());
  if (tenants.some((t) => !TENANT_ID.test(t))) return r.fail('AzureAd__AllowedTenants', 'lists something that is not a tenant id; list tenant ids (GUIDs) separated by commas or spaces, such as 6f1c2d3e-4a5b-4c6d-8e7f-9a0b1c2d3e4f');
  return tenants;
}

/** Application Insights' own settings, as the Functions host and the Azure SDKs name them. */
function readTelemetry(r: SettingsReader): TelemetryConfig | undefined {
  const connectionString = r.raw('APPLICATIONINSIGHTS_CONNECTION_STRING');
  if (!connectionString) return undefined;
  if (!/(^|;)\s*(InstrumentationKey|IngestionEndpoint)=/i.test(connectionString)) {
    r.fail('APPLICATIONINSIGHTS_CONNECTION_STRING', 'is not an Application Insights connection string (InstrumentationKey=…;IngestionEndpoint=…)');
    return undefined;
  }
  const authentication = r.raw('APPLICATIONINSIGHTS_AUTHENTICATION_STRING') ?? '';
  const clientId = /(?:^|;)\s*ClientId=([^;]+)/i.exec(authentication)?.[1]?.trim();
  return { connectionString, ...(clientId ? { managedIdentityClientId: clientId } : {}) };
}

/** The process environment: the only place settings come from in the Functions host. */
export function processSettings(): Settings {
  return process.env;
}
