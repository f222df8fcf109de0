import { loadConfig } from '../../shared/config';
import { ConfigurationError } from '../../shared/errors';
import { expectedIssuer } from '../../shared/auth/idToken';
import { requireAllowedTenant } from '../../shared/auth/signIn';
import { MINIMAL_SETTINGS } from '../support/settings';

/** Settings of the identity platform's scenarios: External ID, multi-tenant, Graph. */
const base = { ...MINIMAL_SETTINGS };
const TENANT = '6f1c2d3e-4a5b-4c6d-8e7f-9a0b1c2d3e4f';

function settingsIn(error: unknown): string[] {
  return error instanceof ConfigurationError ? error.settings : [];
}

test('External ID: a ciamlogin.com authority is Microsoft-shaped (client_info, AAD protocol), with or without its tenant', () => {
  expect(loadConfig({ ...base, AzureAd__Authority: `https://contoso.ciamlogin.com/${TENANT}/v2.0` }).authority).toMatchObject({
    kind: 'entra',
    url: `https://contoso.ciamlogin.com/${TENANT}`,
    knownAuthorities: ['contoso.ciamlogin.com'],
    tenantId: TENANT,
  });
  expect(loadConfig({ ...base, AzureAd__Authority: 'https://contoso.ciamlogin.com/' }).authority).toMatchObject({ kind: 'entra', url: 'https://contoso.ciamlogin.com/contoso.onmicrosoft.com' });
  // A custom URL domain: instance and tenant id.
  expect(loadConfig({ ...base, AzureAd__Instance: 'https://login.contoso.com/', AzureAd__TenantId: TENANT }).authority).toMatchObject({
    kind: 'entra',
    url: `https://login.contoso.com/${TENANT}`,
    knownAuthorities: ['login.contoso.com'],
  });
});

test('AzureAd__AllowedTenants: tenant ids, comma or space separated, anything else names the setting', () => {
  const config = loadConfig({ ...base, AzureAd__TenantId: 'organizations', AzureAd__AllowedTenants: `${TENANT.toUpperCase()}, 00000000-0000-0000-0000-000000000001` });
  expect(config.allowedTenants).toEqual([TENANT, '00000000-0000-0000-0000-000000000001']);
  expect(loadConfig({ ...base, AzureAd__TenantId: 'common' }).allowedTenants).toBeUndefined();
  let error: unknown;
  try {
    loadConfig({ ...base, AzureAd__TenantId: 'common', AzureAd__AllowedTenants: 'contoso.com' });
  } catch (e) {
    error = e;
  }
  expect(settingsIn(error)).toEqual(['AzureAd__AllowedTenants']);
});

test('the allowed-tenant check looks at tid only, case-insensitively', () => {
  expect(() => requireAllowedTenant(undefined, 'anything')).not.toThrow();
  expect(() => requireAllowedTenant([TENANT], TENANT.toUpperCase())).not.toThrow();
  expect(() => requireAllowedTenant([TENANT], '00000000-0000-0000-0000-000000000001')).toThrow(expect.objectContaining({ status: 403, code: 'tenant_not_allowed' }));
  expect(() => requireAllowedTenant([TENANT], undefined)).toThrow(expect.objectContaining({ code: 'tenant_not_allowed' }));
});

test('the multi-tenant issuer template takes the token\'s tid, and only a tenant id', () => {
  const template = 'https://login.microsoftonline.com/{tenantid}/v2.0';
  expect(expectedIssuer(template, TENANT)).toBe(`https://login.microsoftonline.com/${TENANT}/v2.0`);
  expect(expectedIssuer(template, 'evil/../x')).toBeUndefined();
  expect(expectedIssuer('https://issuer.example', TENANT)).toBe('https://issuer.example');
});

test('graph gets Graph\'s base URL by default; its scopes stay required', () => {
  const config = loadConfig({ ...base, AzureAd__TenantId: TENANT, DownstreamApis__graph__Scopes: 'User.Read Mail.Read' });
  expect(config.downstreamApis.get('graph')).toMatchObject({ baseUrl: 'https://graph.microsoft.com/v1.0/', scopes: ['User.Read', 'Mail.Read'] });
  const own = loadConfig({ ...base, AzureAd__TenantId: TENANT, DownstreamApis__Graph__BaseUrl: 'https://graph.microsoft.us/v1.0', DownstreamApis__Graph__Scopes: 'User.Read' });
  expect(own.downstreamApis.get('graph')?.baseUrl).toBe('https://graph.microsoft.us/v1.0/');
  let error: unknown;
  try {
    loadConfig({ ...base, AzureAd__TenantId: TENANT, DownstreamApis__graph__BaseUrl: 'https://graph.microsoft.com/v1.0' });
  } catch (e) {
    error = e;
  }
  expect(settingsIn(error)).toEqual(['DownstreamApis__graph__Scopes']);
});
