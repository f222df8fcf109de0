import { readFileSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { Node } from 'web-tree-sitter';
import { type BicepFile, literal, loadInfraFile } from './bicep';
import { type SettingValues, appSettings, checkAppSettings, settingMatches, settingNamesInSource } from './checks';

// The app settings api.bicep gives the function app, against the settings the code reads
// (shared/**/*.ts, the only place that reads settings).

const SHARED_DIR = join(__dirname, '..', '..', 'shared');

/** Setting names spelled in shared/, with the file that spells each. */
function codeSettingNames(): Map<string, string> {
  const names = new Map<string, string>();
  const files = readdirSync(SHARED_DIR, { recursive: true, withFileTypes: true }).filter((e) => e.isFile() && e.name.endsWith('.ts'));
  for (const entry of files) {
    const path = join(entry.parentPath, entry.name);
    for (const name of settingNamesInSource(readFileSync(path, 'utf8'), path)) names.set(name, relative(SHARED_DIR, path));
  }
  return names;
}

/** Settings that must be set for the app to start in Azure (identity-based, secret-free). */
const REQUIRED_IN_AZURE: readonly (readonly string[])[] = [
  ['AzureAd__ClientId'],
  ['AzureAd__TenantId', 'AzureAd__Authority'],
  ['AzureAd__RedirectUri'],
  ['AzureAd__PostLogoutRedirectUri'],
  ['AzureAd__ClientCredentials__0__SourceType'],
  ['AzureAd__ClientCredentials__0__ManagedIdentityClientId'],
  ['AzureAd__ClientCredentials__0__KeyVaultUrl'],
  ['TokenCache__TableServiceUri'],
  ['TokenCache__ClientId'],
  ['Session__KeyVaultUrl'],
  ['Session__KeyVaultSecretName'],
  ['AzureWebJobsStorage__credential'],
  ['AzureWebJobsStorage__clientId'],
  ['AzureWebJobsStorage__blobServiceUri', 'AzureWebJobsStorage__accountName'],
];

/** Host-only settings: the Functions host reads them, the app code need not. */
const HOST_ONLY = new Set(['AzureWebJobsStorage__blobServiceUri', 'AzureWebJobsStorage__credential']);

let api: BicepFile;
let settings: SettingValues;
let code: Map<string, string>;

beforeAll(async () => {
  api = await loadInfraFile('app/api.bicep');
  settings = appSettings(api);
  code = codeSettingNames();
});

const readByCode = (name: string): boolean => [...code.keys()].some((pattern) => settingMatches(pattern, name));
const valuesOf = (name: string): readonly Node[] => settings.get(name) ?? [];

test('the code spells its setting names where this test can find them', () => {
  expect(code.size).toBeGreaterThan(10);
  expect([...code.keys()]).toEqual(expect.arrayContaining(['AzureAd__ClientId', 'TokenCache__TableServiceUri', 'Session__KeyVaultUrl', 'AzureAd__ClientCredentials__*__SourceType']));
});

test('api.bicep sets every setting the app needs in Azure', () => {
  const missing = REQUIRED_IN_AZURE.filter((alternatives) => !alternatives.some((name) => settings.has(name)));
  expect(missing).toEqual([]);
});

test('every required setting is one the code reads (or the host, for its own storage)', () => {
  const unknown = REQUIRED_IN_AZURE.flat().filter((name) => settings.has(name) && !HOST_ONLY.has(name) && !readByCode(name));
  expect(unknown).toEqual([]);
});

test('every AzureAd__, TokenCache__, Session__ and DownstreamApis__ setting Bicep sets is one the code reads', () => {
  const appOwned = [...settings.keys()].filter((name) => /^(AzureAd|TokenCache|Session|DownstreamApis)__/.test(name));
  expect(appOwned.length).toBeGreaterThan(15);
  expect(appOwned.filter((name) => !readByCode(name))).toEqual([]);
});

test('no key, no connection string with a key, nothing Flex Consumption rejects', () => {
  expect(checkAppSettings(api, settings)).toEqual([]);
  expect(settings.has('AzureWebJobsStorage')).toBe(false);
  expect(settings.has('TokenCache__ConnectionString')).toBe(false);
  expect(settings.has('AzureAd__ClientSecret')).toBe(false);
  expect(settings.has('Session__Keys')).toBe(false);
});

test('storage connections go through the identity named by its client id', () => {
  expect(valuesOf('AzureWebJobsStorage__credential').map((v) => literal(v))).toEqual(['managedidentity']);
  for (const name of ['AzureWebJobsStorage__clientId', 'TokenCache__ClientId', 'AzureAd__ClientCredentials__0__ManagedIdentityClientId']) {
    expect({ name, values: valuesOf(name).map((v) => v.text) }).toEqual({ name, values: ['identityClientId'] });
  }
  expect(valuesOf('TokenCache__TableServiceUri').map((v) => v.text)).toEqual(['storageAccount.properties.primaryEndpoints.table']);
});

test('the client credential is the federated identity or a Key Vault certificate/secret, never a plain secret', () => {
  const sourceTypes = valuesOf('AzureAd__ClientCredentials__0__SourceType').map((v) => literal(v));
  expect(sourceTypes.sort()).toEqual(['KeyVault', 'SignedAssertionFromManagedIdentity']);
  expect(valuesOf('AzureAd__ClientCredentials__0__KeyVaultUrl').map((v) => v.text)).toEqual(['keyVaultUri']);
});

test('session keys come from the Key Vault, by name', () => {
  expect(valuesOf('Session__KeyVaultUrl').map((v) => v.text)).toEqual(['keyVaultUri']);
  expect(valuesOf('Session__KeyVaultSecretName').map((v) => v.text)).toEqual(['sessionKeysSecretName']);
});

test('downstream APIs become DownstreamApis__<name>__* settings', () => {
  expect([...settings.keys()].filter((name) => name.startsWith('DownstreamApis__')).sort()).toEqual([
    'DownstreamApis__*__BaseUrl',
    'DownstreamApis__*__RequestAppToken',
    'DownstreamApis__*__Scopes',
  ]);
});
