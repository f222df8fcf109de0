import { X509Certificate, createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  decodeJwt,
  decodeProtectedHeader,
  errors,
  jwtVerify,
  type JWTVerifyGetKey,
  type JWTVerifyOptions,
} from 'jose';
import { invalidClient, invalidRequest } from './errors';
import type { ProviderState } from './state';
import { sameSecret } from './store';
import type { DevClient, DevFederatedIssuer } from './types';

const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
// MSAL Node signs with PS256 when given a SHA-256 thumbprint, RS256 with SHA-1.
const ASSERTION_ALGORITHMS = ['RS256', 'PS256', 'ES256'];
const CLOCK_TOLERANCE_SECONDS = 30;

function list(value: string | string[] | undefined): string[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

/** RFC 6749 2.3.1: both halves of client_secret_basic are form-url-encoded. */
function parseBasic(header: string | undefined): { clientId: string; secret: string } | undefined {
  const match = /^Basic\s+(\S+)$/i.exec(header ?? '');
  if (!match) return undefined;
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) throw invalidClient('AADSTS7000218: The Authorization header is malformed.');
  const decode = (part: string): string => decodeURIComponent(part.replace(/\+/g, ' '));
  try {
    return { clientId: decode(decoded.slice(0, colon)), secret: decode(decoded.slice(colon + 1)) };
  } catch {
    throw invalidClient('AADSTS7000218: The Authorization header is malformed.');
  }
}

function findClient(state: ProviderState, clientId: string | undefined): DevClient {
  const client = clientId ? state.clients.get(clientId) : undefined;
  if (!client) {
    throw invalidClient(`AADSTS700016: Application with identifier '${clientId ?? ''}' was not found in the directory.`);
  }
  return client;
}

function checkSecret(client: DevClient, secret: string): DevClient {
  if (!list(client.clientSecret).some((expected) => sameSecret(secret, expected))) {
    throw invalidClient('AADSTS7000215: Invalid client secret provided.');
  }
  return client;
}

function thumbprint(cert: X509Certificate, algorithm: 'sha1' | 'sha256'): string {
  return createHash(algorithm).update(cert.raw).digest('base64url');
}

/** Maps jose's stable error codes onto Entra's assertion errors. */
function assertionError(err: unknown): Error {
  if (err instanceof errors.JWTExpired) return invalidClient('AADSTS700024: Client assertion is not within its valid time range.');
  if (err instanceof errors.JWTClaimValidationFailed) {
    return invalidClient(`AADSTS700027: Client assertion contains an invalid claim: ${err.claim}.`);
  }
  return invalidClient('AADSTS700027: Client assertion failed signature validation.');
}

async function verifyCertificateAssertion(state: ProviderState, client: DevClient, assertion: string): Promise<void> {
  const header = decodeProtectedHeader(assertion);
  const x5t = typeof header.x5t === 'string' ? header.x5t : undefined;
  const x5tS256 = typeof header['x5t#S256'] === 'string' ? header['x5t#S256'] : undefined;
  const options: JWTVerifyOptions = {
    issuer: client.clientId,
    subject: client.clientId,
    audience: [state.tokenEndpoint, state.issuer, `${state.issuer}/`],
    algorithms: ASSERTION_ALGORITHMS,
    requiredClaims: ['exp'],
    clockTolerance: CLOCK_TOLERANCE_SECONDS,
  };
  // A thumbprint header names the certificate; without one, any registered certificate may match.
  const candidates = list(client.certificatePem)
    .map((pem) => new X509Certificate(pem))
    .filter((cert) => (!x5t || x5t === thumbprint(cert, 'sha1')) && (!x5tS256 || x5tS256 === thumbprint(cert, 'sha256')));
  if (candidates.length === 0) {
    throw invalidClient(`AADSTS700027: Client assertion failed signature validation. The key was not found for application '${client.clientId}'.`);
  }
  let lastError: unknown;
  for (const cert of candidates) {
    try {
      await jwtVerify(assertion, cert.publicKey, options);
      return;
    } catch (err) {
      lastError = err;
    }
  }
  throw assertionError(lastError);
}

const federatedKeySets = new WeakMap<DevFederatedIssuer, JWTVerifyGetKey>();

function federatedKeys(federated: DevFederatedIssuer): JWTVerifyGetKey {
  let keys = federatedKeySets.get(federated);
  if (!keys) {
    if (federated.jwks) keys = createLocalJWKSet(federated.jwks);
    else if (federated.jwksUri) keys = createRemoteJWKSet(new URL(federated.jwksUri));
    else throw invalidClient('AADSTS70021: No matching federated identity record found for presented assertion.');
    federatedKeySets.set(federated, keys);
  }
  return keys;
}

/** A token from another issuer (e.g. a managed identity's) standing in for the client's credential. */
async function verifyFederatedAssertion(client: DevClient, federated: DevFederatedIssuer, assertion: string): Promise<void> {
  try {
    await jwtVerify(assertion, federatedKeys(federated), {
      issuer: federated.issuer,
      subject: federated.subject,
      audience: federated.audience ?? 'api://AzureADTokenExchange',
      requiredClaims: ['exp'],
      clockTolerance: CLOCK_TOLERANCE_SECONDS,
    });
  } catch (err) {
    if (err instanceof errors.JWTExpired) throw assertionError(err);
    throw invalidClient(`AADSTS70021: No matching federated identity record found for presented assertion. Application '${client.clientId}'.`);
  }
}

async function checkAssertion(state: ProviderState, params: Map<string, string>, assertion: string): Promise<DevClient> {
  if (params.get('client_assertion_type') !== JWT_BEARER) {
    throw invalidRequest(`AADSTS7000219: 'client_assertion_type' must be '${JWT_BEARER}'.`);
  }
  let claims: ReturnType<typeof decodeJwt>;
  try {
    claims = decodeJwt(assertion);
  } catch {
    throw invalidClient('AADSTS50027: JWT token is invalid or malformed.');
  }
  const client = findClient(state, params.get('client_id') ?? claims.sub);
  const federated = client.federatedIssuer;
  if (federated && claims.iss === federated.issuer) {
    await verifyFederatedAssertion(client, federated, assertion);
  } else {
    await verifyCertificateAssertion(state, client, assertion);
  }
  return client;
}

/** client_secret_basic, client_secret_post or private_key_jwt; throws an OAuthError otherwise. */
export async function authenticateClient(state: ProviderState, req: IncomingMessage, params: Map<string, string>): Promise<DevClient> {
  const basic = parseBasic(req.headers.authorization);
  const assertion = params.get('client_assertion');
  const secret = params.get('client_secret');
  const methods = [basic, assertion, secret].filter((method) => method !== undefined).length;
  if (methods > 1) throw invalidRequest('AADSTS90014: Only one client authentication method may be used.');

  if (basic) {
    const bodyId = params.get('client_id');
    if (bodyId !== undefined && bodyId !== basic.clientId) throw invalidClient('AADSTS700016: client_id does not match the Authorization header.');
    return checkSecret(findClient(state, basic.clientId), basic.secret);
  }
  if (assertion !== undefined) return checkAssertion(state, params, assertion);
  const client = findClient(state, params.get('client_id'));
  if (secret === undefined) {
    throw invalidClient("AADSTS7000218: The request body must contain the following parameter: 'client_assertion' or 'client_secret'.");
  }
  return checkSecret(client, secret);
}
