import { ConfidentialClientApplication, InteractionRequiredAuthError, ServerError } from '@azure/msal-node';
import { loadConfig } from '../../shared/config';
import { ConfigurationError } from '../../shared/errors';
import { acceptedIssuers, bearerTokenOf } from '../../shared/obo/bearerToken';
import { exchangeProblem, oboAuthorityUrl, oboPartitionKey } from '../../shared/obo/onBehalfOf';
import { appScopesFor, findOboApi } from '../../shared/obo/oboApis';
import { ProblemError } from '../../shared/problems';
import { captureLogLines } from '../../shared/log';
import { MINIMAL_SETTINGS } from '../support/settings';

/** The settings of `/api/obo`, its issuers and authorities, and how refused exchanges are answered. */
const base = {
  ...MINIMAL_SETTINGS,
  AzureAd__TenantId: 'contoso.onmicrosoft.com',
};
const TENANT = '6f1c2d3e-4a5b-4c6d-8e7f-9a0b1c2d3e4f';

function failure(settings: Record<string, string>): readonly { setting: string; message: string }[] {
  try {
    loadConfig(settings);
  } catch (error) {
    if (error instanceof ConfigurationError) return error.problems;
    throw error;
  }
  throw new Error('the configuration loaded');
}

describe('settings', () => {
  test('defaults: the client id and its App ID URI, the scope access_as_user, no app role', () => {
    expect(loadConfig(base).obo).toEqual({ audiences: ['client-1', 'api://client-1'], requiredScopes: ['access_as_user'], requiredAppRoles: [] });
  });

  test('AzureAd__Audience replaces the audiences; Obo__RequiredScopes and Obo__RequiredAppRoles are lists; roles alone need no scope', () => {
    const config = loadConfig({ ...base, AzureAd__Audience: 'https://api.contoso.com/orders', Obo__RequiredScopes: 'Orders.Read, Orders.Write', Obo__RequiredAppRoles: 'Orders.Read.All' });
    expect(config.obo).toEqual({ audiences: ['https://api.contoso.com/orders'], requiredScopes: ['Orders.Read', 'Orders.Write'], requiredAppRoles: ['Orders.Read.All'] });
    expect(loadConfig({ ...base, Obo__RequiredAppRoles: 'Orders.Read.All' }).obo.requiredScopes).toEqual([]);
  });

  test('a full scope URI, a malformed scope or role, and an empty audience name their setting', () => {
    expect(failure({ ...base, Obo__RequiredScopes: 'api://client-1/access_as_user' })).toEqual([
      { setting: 'Obo__RequiredScopes', message: expect.stringContaining('tokens carry the short name in scp; list short names such as access_as_user') },
    ]);
    expect(failure({ ...base, Obo__RequiredScopes: 'a"b' })[0]).toMatchObject({ setting: 'Obo__RequiredScopes' });
    expect(failure({ ...base, Obo__RequiredAppRoles: 'x\\y' })[0]).toMatchObject({ setting: 'Obo__RequiredAppRoles' });
    expect(failure({ ...base, AzureAd__Audience: ' , ' })[0]).toMatchObject({ setting: 'AzureAd__Audience', message: expect.stringContaining('App ID URI') });
  });
});

describe('issuers and authorities', () => {
  test('Entra: the tenant\'s v2.0 issuer and its v1.0 form (sts.windows.net); multi-tenant fills in the token\'s tid', () => {
    const single = loadConfig({ ...base, AzureAd__TenantId: TENANT });
    expect(acceptedIssuers(single, `https://login.microsoftonline.com/${TENANT}/v2.0`, TENANT)).toEqual([`https://login.microsoftonline.com/${TENANT}/v2.0`, `https://sts.windows.net/${TENANT}/`]);
    const multi = loadConfig({ ...base, AzureAd__TenantId: 'organizations' });
    expect(acceptedIssuers(multi, 'https://login.microsoftonline.com/{tenantid}/v2.0', TENANT)).toEqual([`https://login.microsoftonline.com/${TENANT}/v2.0`, `https://sts.windows.net/${TENANT}/`]);
    expect(acceptedIssuers(multi, 'https://login.microsoftonline.com/{tenantid}/v2.0', 'not-a-guid')).toEqual([]);
  });

  test('any other provider: its issuer only', () => {
    const oidc = loadConfig({ ...base, AzureAd__TenantId: '', AzureAd__Authority: 'https://idp.example.com' });
    expect(acceptedIssuers(oidc, 'https://idp.example.com', TENANT)).toEqual(['https://idp.example.com']);
  });

  test('the exchange of a multi-tenant app goes to the caller\'s tenant', () => {
    expect(oboAuthorityUrl(loadConfig({ ...base, AzureAd__TenantId: 'organizations' }), TENANT)).toBe(`https://login.microsoftonline.com/${TENANT}`);
    expect(oboAuthorityUrl(loadConfig({ ...base, AzureAd__TenantId: 'common' }), 'x')).toBe('https://login.microsoftonline.com/common');
    expect(oboAuthorityUrl(loadConfig(base), TENANT)).toBe('https://login.microsoftonline.com/contoso.onmicrosoft.com');
  });
});

test('the Authorization header: a bearer token, a bare challenge without one, invalid_token for a malformed one', () => {
  expect(bearerTokenOf('Bearer abc.def-_~+/==')).toBe('abc.def-_~+/==');
  expect(bearerTokenOf('bearer  abc')).toBe('abc');
  for (const header of [null, '', 'Basic YTpi', 'Bearerabc']) {
    expect(() => bearerTokenOf(header)).toThrow(expect.objectContaining({ code: 'bearer_token_missing', challenge: 'Bearer' }));
  }
  expect(() => bearerTokenOf('Bearer a b')).toThrow(expect.objectContaining({ code: 'bearer_token_invalid', challenge: expect.stringMatching(/^Bearer error="invalid_token"/) }));
});

test('the cache key is a hash of the whole incoming token, never the token', () => {
  const key = oboPartitionKey('header.payload.signature');
  expect(key).toMatch(/^obo-[A-Za-z0-9_-]{43}$/);
  expect(key).not.toContain('payload');
  expect(oboPartitionKey('header.payload.signaturf')).not.toBe(key);
});

describe('APIs obo may call', () => {
  const config = loadConfig({
    ...base,
    DownstreamApis__demo__BaseUrl: 'https://api.contoso.com/',
    DownstreamApis__demo__Scopes: 'api://demo-api/Data.Read',
    DownstreamApis__self__BaseUrl: 'https://app.contoso.com/api/obo/demo/',
    DownstreamApis__self__Scopes: 'api://client-1/access_as_user',
    DownstreamApis__daemon__BaseUrl: 'https://api.contoso.com/',
    DownstreamApis__daemon__Scopes: 'api://demo-api/.default',
    DownstreamApis__daemon__RequestAppToken: 'true',
    DownstreamApis__graph__Scopes: 'User.Read',
  });
  test('delegated APIs only; never the app\'s own API (a loop) or an app-identity one', () => {
    expect(findOboApi(config, 'Demo').name).toBe('demo');
    expect(() => findOboApi(config, 'self')).toThrow(expect.objectContaining({ code: 'api_unknown' }));
    expect(() => findOboApi(config, 'daemon')).toThrow(expect.objectContaining({ code: 'api_unknown' }));
    expect(() => findOboApi(config, 'nope')).toThrow(expect.objectContaining({ code: 'api_unknown' }));
  });
  test('an app-only caller gets the app\'s token for the same resource', () => {
    expect(appScopesFor(findOboApi(config, 'demo'))).toEqual(['api://demo-api/.default']);
    expect(appScopesFor(findOboApi(config, 'graph'))).toEqual(['https://graph.microsoft.com/.default']);
  });
});

describe('a refused exchange, as the caller of a web API needs it', () => {
  const client = new ConfidentialClientApplication({ auth: { clientId: 'c', clientSecret: 's' } });
  const claims = JSON.stringify({ access_token: { acrs: { essential: true, value: 'c1' } } });
  beforeAll(() => captureLogLines(() => {}));
  afterAll(() => captureLogLines(undefined));

  test('a claims challenge: 401 insufficient_claims carrying the claims (base64)', () => {
    const problem = exchangeProblem(new InteractionRequiredAuthError('interaction_required', 'x', 'AADSTS50076: MFA', '', '', '', claims), client);
    expect(problem).toMatchObject({ status: 401, code: 'interaction_required', extensions: { claims } });
    expect(problem.challenge).toBe(`Bearer error="insufficient_claims", error_description="The token needs more claims.", claims="${Buffer.from(claims).toString('base64')}"`);
  });
  test('missing consent: 401 interaction_required', () => {
    const problem = exchangeProblem(new InteractionRequiredAuthError('invalid_grant', 'x', 'AADSTS65001: The user or administrator has not consented', 'consent_required'), client);
    expect(problem).toMatchObject({ status: 401, code: 'interaction_required', challenge: 'Bearer error="interaction_required", error_description="consent_required"' });
  });
  test('an assertion the provider refuses: 401 invalid_token', () => {
    const problem = exchangeProblem(new ServerError('invalid_grant', 'AADSTS50013: Assertion failed signature validation.'), client);
    expect(problem).toMatchObject({ status: 401, code: 'bearer_token_invalid', challenge: expect.stringMatching(/^Bearer error="invalid_token"/) });
  });
  test('the app\'s credential refused, a configuration error, the provider down: the existing codes, no challenge', () => {
    expect(exchangeProblem(new ServerError('invalid_client', 'AADSTS7000215: Invalid client secret provided.'), client)).toMatchObject({ code: 'client_credential_rejected', challenge: undefined });
    expect(exchangeProblem(new ServerError('invalid_scope', 'AADSTS70011'), client)).toMatchObject({ status: 502, code: 'obo_exchange_refused', detail: 'Provider error: invalid_scope.' });
    expect(exchangeProblem(new ServerError('temporarily_unavailable', 'AADSTS90033'), client)).toMatchObject({ code: 'provider_unavailable' });
  });
  test('our own bugs are not blamed on the provider', () => {
    expect(() => exchangeProblem(new TypeError('x'), client)).toThrow(TypeError);
    const mine = new ProblemError('token_cache_unavailable');
    expect(exchangeProblem(mine, client)).toBe(mine);
  });
});
