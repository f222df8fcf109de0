import { errors as joseErrors, jwtVerify, type JWTPayload } from 'jose';
import type { AppConfig } from '../config';
import type { Provider } from '../auth/discovery';
import { expectedIssuer } from '../auth/idToken';
import { problems, type ProblemError } from '../problems';

/**
 * The incoming bearer token of `/api/obo`, checked as Microsoft.Identity.Web's web API does
 * (JwtBearer plus its issuer validator and `RequiredScopeOrAppPermission`): signature by a key
 * of the provider's JWKS, issuer, audience, lifetime, then a required scope or app role.
 * Failures answer RFC 6750 challenges: 401 `invalid_token`, 403 `insufficient_scope`, and a bare
 * `Bearer` challenge when no bearer token came at all (RFC 6750 section 3.1).
 */
export interface BearerCaller {
  /** The token as received: the on-behalf-of assertion. */
  readonly assertion: string;
  readonly claims: JWTPayload;
  /** A user's (delegated) token, with `scp`; false for an app-only token (admitted by its app role). */
  readonly delegated: boolean;
  /** The token's expiry: nothing derived from it (the cached exchange) outlives it. */
  readonly expiresAt: Date;
}

/** Asymmetric algorithms only, as for ID tokens: `none` and HMAC are refused. */
const ALLOWED_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512'];
/** Microsoft.Identity.Web's default clock skew. */
const CLOCK_TOLERANCE_SECONDS = 300;
/** RFC 6750 b64token. */
const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Entra's v1.0 access tokens (an API registration's default `accessTokenAcceptedVersion`) name this issuer. */
const ENTRA_V1_ISSUER_HOST = 'https://sts.windows.net/';

function invalidToken(description: string): ProblemError {
  return problems.bearer_token_invalid(`${description} Get a new token for this API.`).withChallenge(`Bearer error="invalid_token", error_description="${description}"`);
}

function insufficientScope(config: AppConfig['obo'], description: string): ProblemError {
  const scope = config.requiredScopes.length > 0 ? `, scope="${config.requiredScopes.join(' ')}"` : '';
  return problems.bearer_scope_insufficient(description, { requiredScopes: config.requiredScopes, requiredAppRoles: config.requiredAppRoles }).withChallenge(`Bearer error="insufficient_scope"${scope}, error_description="${description}"`);
}

/** The token of an `Authorization: Bearer` header; a bare challenge when there is none. */
export function bearerTokenOf(authorization: string | null): string {
  const match = authorization ? BEARER.exec(authorization) : null;
  if (match) return match[1]!;
  if (authorization && /^Bearer(\s|$)/i.test(authorization)) throw invalidToken('The Authorization header is not a bearer token.');
  throw problems.bearer_token_missing('Send the token in an Authorization: Bearer header.').withChallenge('Bearer');
}

/**
 * Issuers the token may carry: the discovery document's (Entra's multi-tenant `{tenantid}`
 * filled from the token's `tid`, as at sign-in), and for Entra the v1.0 form of the same tenant.
 */
export function acceptedIssuers(config: AppConfig, metadataIssuer: string, tid: unknown): string[] {
  const v2 = expectedIssuer(metadataIssuer, tid);
  if (!v2) return [];
  if (config.authority.kind !== 'entra') return [v2];
  const tenant = /^https:\/\/[^/]+\/([0-9a-f-]{36})\/v2\.0\/?$/i.exec(v2)?.[1];
  return tenant && GUID.test(tenant) ? [v2, `${ENTRA_V1_ISSUER_HOST}${tenant}/`] : [v2];
}

function describeJoseFailure(error: unknown): string {
  if (error instanceof joseErrors.JWTExpired) return 'The token has expired.';
  if (error instanceof joseErrors.JWTClaimValidationFailed) return error.claim === 'aud' ? 'The token is for another audience.' : `The token's ${error.claim} claim is not valid.`;
  if (error instanceof joseErrors.JWSSignatureVerificationFailed) return 'The token signature does not verify.';
  if (error instanceof joseErrors.JOSEAlgNotAllowed) return 'The token uses an algorithm that is not allowed.';
  if (error instanceof joseErrors.JWKSNoMatchingKey) return 'The token is signed by a key the provider does not publish.';
  return 'The token is malformed.';
}

function stringList(value: unknown, separator: RegExp | undefined): string[] {
  if (typeof value === 'string') return separator ? value.split(separator).filter(Boolean) : [value];
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

export async function validateBearerToken(config: AppConfig, provider: Provider, authorization: string | null): Promise<BearerCaller> {
  const assertion = bearerTokenOf(authorization);
  let claims: JWTPayload;
  try {
    ({ payload: claims } = await jwtVerify(assertion, provider.jwks, {
      audience: [...config.obo.audiences],
      algorithms: ALLOWED_ALGORITHMS,
      clockTolerance: CLOCK_TOLERANCE_SECONDS,
      requiredClaims: ['iss', 'aud', 'exp'],
    }));
  } catch (error) {
    // A failure that is not a JOSE verdict is the key fetch failing: the provider, not the token.
    if (error instanceof joseErrors.JWKSTimeout) throw problems.provider_timeout('The signing keys could not be fetched in time.');
    if (!(error instanceof joseErrors.JOSEError)) throw problems.provider_unavailable('The signing keys could not be fetched.');
    throw invalidToken(describeJoseFailure(error));
  }
  if (!acceptedIssuers(config, provider.metadata.issuer, claims.tid).includes(claims.iss!)) throw invalidToken('The token was issued by another issuer.');
  if (config.allowedTenants && !(typeof claims.tid === 'string' && config.allowedTenants.includes(claims.tid.toLowerCase()))) {
    throw invalidToken('The token is for a tenant that is not allowed.');
  }

  const scopes = stringList(claims['scp'], / +/);
  const roles = stringList(claims['roles'], undefined);
  const delegated = scopes.length > 0;
  // Microsoft.Identity.Web's RequiredScopeOrAppPermission: either list lets the token in.
  const allowed = config.obo.requiredScopes.some((s) => scopes.includes(s)) || config.obo.requiredAppRoles.some((r) => roles.includes(r));
  if (!allowed) {
    throw insufficientScope(config.obo, delegated ? 'The token has none of the required scopes.' : 'The token has no scope and none of the required app roles.');
  }
  return { assertion, claims, delegated, expiresAt: new Date(claims.exp! * 1000) };
}
