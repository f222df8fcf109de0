import { createServer, type Server } from 'node:https';
import { decodeJwt } from 'jose';
import { listenOnLoopback } from '../../dev/listen';
import { acquireAppToken } from '../../shared/auth/appTokens';
import { runLoggedRequest } from '../../shared/log';
import type { CredentialLoader } from '../../shared/credentials/clientCredential';
import { UNIT_APP, startUnitProvider, unitRuntime, withTokenEndpointAt, type UnitProvider } from '../support/authRuntime';
import { problemOf, closeServer } from '../support/problems';

/** App-identity tokens (client credentials) from the dev OpenID provider on loopback HTTPS, with real MSAL. */
let provider: UnitProvider;
/** A token endpoint stand-in that answers 200 with no access token. */
let empty: Server;
let emptyUrl: string;
beforeAll(async () => {
  provider = await startUnitProvider({
    apis: [
      { audience: 'api://unit-api', scopes: ['api://unit-api/Data.Read'] },
      { audience: 'api://second-api', scopes: ['api://second-api/Data.Read'] },
    ],
  });
  empty = createServer({ cert: provider.tls.certPem, key: provider.tls.keyPem }, (req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token_type: 'Bearer', expires_in: 3600 })));
  });
  emptyUrl = `https://127.0.0.1:${await listenOnLoopback(empty)}`;
});
afterAll(async () => {
  await closeServer(empty);
  await provider?.close();
});

const grants = () => provider.idp.stats.grants.client_credentials;


test('an app token for the scopes asked, issued to the app; kept in memory by the runtime until it nears expiry', async () => {
  const runtime = unitRuntime(provider);
  const before = grants();
  const token = await acquireAppToken(runtime, ['api://unit-api/.default']);
  expect(decodeJwt(token)).toMatchObject({ aud: 'api://unit-api', iss: provider.idp.issuer, azp: UNIT_APP.clientId });
  expect(await acquireAppToken(runtime, ['api://unit-api/.default'])).toBe(token);
  expect(grants() - before).toBe(1);
  const second = await acquireAppToken(runtime, ['api://second-api/.default']);
  expect(decodeJwt(second).aud).toBe('api://second-api');
  expect(grants() - before).toBe(2);
  // Another runtime (process) keeps its own.
  await acquireAppToken(unitRuntime(provider), ['api://unit-api/.default']);
  expect(grants() - before).toBe(3);
});

test('the request log line says the token was an app token', async () => {
  const runtime = unitRuntime(provider);
  const lines: string[] = [];
  await runLoggedRequest({ invocationId: 'i', functionName: 'proxy', route: 'proxy/x', method: 'GET', write: (line) => lines.push(line) }, () => acquireAppToken(runtime, ['api://unit-api/.default']), () => ({ status: 200 }));
  expect(JSON.parse(lines.at(-1)!)).toMatchObject({ type: 'request', token: 'app_token' });
});

test('a rotated secret: the credential is reloaded once and a new client uses it', async () => {
  let secret = provider.clientSecret;
  const loader: CredentialLoader = async () => ({ credential: { clientSecret: secret }, description: 'test secret' });
  const runtime = unitRuntime(provider, { loaders: { ClientSecret: loader } });
  await acquireAppToken(runtime, ['api://unit-api/.default']);
  const rotated = `${provider.clientSecret}-rotated`;
  provider.idp.controls.clientSecret(UNIT_APP.clientId, rotated);
  secret = rotated;
  try {
    const token = await acquireAppToken(runtime, ['api://second-api/.default']);
    expect(decodeJwt(token).aud).toBe('api://second-api');
    expect(runtime.credentials.loads).toBe(2);
  } finally {
    provider.idp.controls.clientSecret(UNIT_APP.clientId, provider.clientSecret);
  }
});

test('a provider that fails: 502 provider_unavailable; a scope it does not know: 400 code_rejected naming its code', async () => {
  const runtime = unitRuntime(provider);
  provider.idp.controls.failTokenEndpoint(503, 1);
  expect(await problemOf(acquireAppToken(runtime, ['api://unit-api/.default']))).toMatchObject({ status: 502, code: 'provider_unavailable' });
  expect(await problemOf(acquireAppToken(runtime, ['api://unknown-api/.default']))).toMatchObject({ status: 400, code: 'code_rejected', detail: 'Provider error: invalid_scope. Sign in again.' });
});

test('a token answer without an access token: 502 provider_unavailable saying so', async () => {
  const runtime = withTokenEndpointAt(unitRuntime(provider), emptyUrl);
  expect(await problemOf(acquireAppToken(runtime, ['api://unit-api/.default']))).toMatchObject({ status: 502, code: 'provider_unavailable', detail: 'The provider returned no access token.' });
});
