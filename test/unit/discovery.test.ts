import { createServer, type Server } from 'node:https';
import type { IncomingHttpHeaders } from 'node:http';
import { listenOnLoopback } from '../../dev/listen';
import { ProviderDirectory, discoveryUrl } from '../../shared/auth/discovery';
import { loadConfig } from '../../shared/config';
import { MINIMAL_SETTINGS } from '../support/settings';
import { startUnitProvider, type UnitProvider } from '../support/authRuntime';
import { problemOf, closeServer } from '../support/problems';

/**
 * Discovery documents and keys, fetched from the dev OpenID provider on loopback HTTPS and from
 * a loopback server that answers what a test sets (a broken document, an error status).
 */
let provider: UnitProvider;
let server: Server;
let serverUrl: string;
/** What the test server answers next, and the requests it saw. */
let answer: { status: number; body: string };
const seen: { path: string; headers: IncomingHttpHeaders }[] = [];

beforeAll(async () => {
  provider = await startUnitProvider();
  server = createServer({ cert: provider.tls.certPem, key: provider.tls.keyPem }, (req, res) => {
    seen.push({ path: req.url ?? '', headers: req.headers });
    res.writeHead(answer.status, { 'content-type': 'application/json' }).end(answer.body);
  });
  serverUrl = `https://127.0.0.1:${await listenOnLoopback(server)}`;
});
afterAll(async () => {
  await closeServer(server);
  await provider?.close();
});
beforeEach(() => {
  seen.length = 0;
  answer = { status: 200, body: '' };
});
afterEach(() => jest.useRealTimers());

const oidcAt = (url: string) => loadConfig({ ...MINIMAL_SETTINGS, AzureAd__Authority: url }).authority;
const document = (extra: Record<string, unknown> = {}) => ({ issuer: serverUrl, authorization_endpoint: `${serverUrl}/a`, token_endpoint: `${serverUrl}/t`, jwks_uri: `${serverUrl}/k`, ...extra });


describe('discoveryUrl', () => {
  test('a generic provider publishes under its issuer; Entra and B2C under the authority\'s v2.0; trailing slashes dropped', () => {
    const oidc = oidcAt('https://idp.example/realms/app');
    expect(discoveryUrl(oidc, 'https://idp.example/realms/app//')).toBe('https://idp.example/realms/app/.well-known/openid-configuration');
    const entra = loadConfig({ ...MINIMAL_SETTINGS, AzureAd__Instance: 'https://login.microsoftonline.com/', AzureAd__TenantId: 'contoso.onmicrosoft.com' }).authority;
    expect(discoveryUrl(entra, 'https://login.microsoftonline.com/contoso.onmicrosoft.com/')).toBe('https://login.microsoftonline.com/contoso.onmicrosoft.com/v2.0/.well-known/openid-configuration');
    expect(discoveryUrl(entra, 'https://login.microsoftonline.com/contoso.onmicrosoft.com')).toBe('https://login.microsoftonline.com/contoso.onmicrosoft.com/v2.0/.well-known/openid-configuration');
  });
});

describe('ProviderDirectory', () => {
  test('fetches the document once for every caller, concurrent or later, and hands MSAL the text as fetched', async () => {
    const directory = new ProviderDirectory(oidcAt(provider.idp.issuer));
    const before = provider.idp.stats.requests.discovery;
    const [a, b] = await Promise.all([directory.get(), directory.get()]);
    const c = await directory.get(provider.idp.issuer);
    expect(provider.idp.stats.requests.discovery - before).toBe(1);
    expect(a).toBe(b);
    expect(c).toBe(a);
    expect(a.metadata.issuer).toBe(provider.idp.issuer);
    expect(a.metadata.token_endpoint).toBe(`${provider.idp.issuer}/token`);
    expect(JSON.parse(a.metadataJson)).toEqual(a.metadata);
    // The provider's keys, from its jwks_uri.
    const jwks = (await (await fetch(`${provider.idp.issuer}/jwks`)).json()) as { keys: { kid: string; alg: string }[] };
    const key = await a.jwks({ alg: 'RS256', kid: jwks.keys[0]!.kid }, { payload: '', signature: '' });
    expect(key).toBeDefined();
  });

  test('asks for JSON at the discovery URL', async () => {
    answer = { status: 200, body: JSON.stringify(document()) };
    await new ProviderDirectory(oidcAt(`${serverUrl}/tenant`)).get();
    expect(seen).toEqual([{ path: '/tenant/.well-known/openid-configuration', headers: expect.objectContaining({ accept: 'application/json' }) }]);
  });

  test('each authority (B2C user flow) has its own document', async () => {
    answer = { status: 200, body: JSON.stringify(document()) };
    const directory = new ProviderDirectory(oidcAt(`${serverUrl}/one`));
    await directory.get(`${serverUrl}/one`);
    await directory.get(`${serverUrl}/two`);
    await directory.get(`${serverUrl}/one`);
    expect(seen.map((s) => s.path)).toEqual(['/one/.well-known/openid-configuration', '/two/.well-known/openid-configuration']);
  });

  test('kept for 24 hours, then fetched again', async () => {
    jest.useFakeTimers({ now: 1_800_000_000_000, doNotFake: ['nextTick', 'setImmediate', 'setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'queueMicrotask', 'performance', 'hrtime'] });
    answer = { status: 200, body: JSON.stringify(document()) };
    const directory = new ProviderDirectory(oidcAt(serverUrl));
    const first = await directory.get();
    jest.setSystemTime(1_800_000_000_000 + 24 * 60 * 60 * 1000 - 1);
    expect(await directory.get()).toBe(first);
    expect(seen).toHaveLength(1);
    jest.setSystemTime(1_800_000_000_000 + 24 * 60 * 60 * 1000);
    const second = await directory.get();
    expect(second).not.toBe(first);
    expect(seen).toHaveLength(2);
    expect(await directory.get()).toBe(second);
    expect(seen).toHaveLength(2);
  });

  test('a failure is not kept: the next caller fetches again', async () => {
    const directory = new ProviderDirectory(oidcAt(serverUrl));
    answer = { status: 500, body: '{}' };
    expect(await problemOf(directory.get())).toMatchObject({ status: 502, code: 'provider_unavailable', detail: 'The discovery document answered 500.' });
    answer = { status: 200, body: JSON.stringify(document()) };
    await expect(directory.get()).resolves.toMatchObject({ metadata: { issuer: serverUrl } });
    expect(seen).toHaveLength(2);
  });

  test.each([
    ['not JSON', '<html>gateway</html>', 'The discovery document is not JSON.'],
    ['null', 'null', 'The discovery document lacks issuer, endpoints or jwks_uri.'],
    ['no issuer', JSON.stringify({ ...document(), issuer: undefined }), 'The discovery document lacks issuer, endpoints or jwks_uri.'],
    ['no authorization endpoint', JSON.stringify({ ...document(), authorization_endpoint: undefined }), 'The discovery document lacks issuer, endpoints or jwks_uri.'],
    ['no token endpoint', JSON.stringify({ ...document(), token_endpoint: undefined }), 'The discovery document lacks issuer, endpoints or jwks_uri.'],
    ['a jwks_uri that is not a string', JSON.stringify({ ...document(), jwks_uri: ['x'] }), 'The discovery document lacks issuer, endpoints or jwks_uri.'],
  ])('a document that is %s: 502 provider_unavailable saying so', async (_, body, detail) => {
    answer = { status: 200, body };
    expect(await problemOf(new ProviderDirectory(oidcAt(serverUrl)).get())).toMatchObject({ status: 502, code: 'provider_unavailable', detail });
  });

  test.each([
    ['jwks_uri', 'keys'],
    ['authorization_endpoint', 'javascript:alert(1)'],
    ['token_endpoint', '/token'],
    ['end_session_endpoint', 'not a url'],
    ['end_session_endpoint', 42],
    ['end_session_endpoint', ['https://127.0.0.1/logout']],
    ['revocation_endpoint', 'file:///etc/passwd'],
  ])('a document whose %s is %p: 502 provider_unavailable naming it', async (field, value) => {
    answer = { status: 200, body: JSON.stringify(document({ [field]: value })) };
    expect(await problemOf(new ProviderDirectory(oidcAt(serverUrl)).get())).toMatchObject({ status: 502, code: 'provider_unavailable', detail: `The discovery document's ${field} is not an http(s) URL.` });
  });

  test('optional endpoints may be absent, and http(s) ones are kept as sent', async () => {
    answer = { status: 200, body: JSON.stringify(document({ end_session_endpoint: `${serverUrl}/logout?x=1`, revocation_endpoint: 'http://127.0.0.1:9/revoke' })) };
    await expect(new ProviderDirectory(oidcAt(serverUrl)).get()).resolves.toMatchObject({ metadata: { end_session_endpoint: `${serverUrl}/logout?x=1`, revocation_endpoint: 'http://127.0.0.1:9/revoke' } });
  });

  test('a provider that cannot be reached: 502 provider_unavailable', async () => {
    expect(await problemOf(new ProviderDirectory(oidcAt('https://127.0.0.1:1')).get())).toMatchObject({ status: 502, code: 'provider_unavailable', detail: 'The discovery document could not be fetched.' });
  });
});
