import { errors as joseErrors, jwtVerify, type JWTPayload } from 'jose';
import type { Provider } from './discovery';
import { problems, type ProblemError } from '../problems';

/** Asymmetric algorithms only: `none` and HMAC (keyed with a public value) are refused. */
const ALLOWED_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512'];
/** Microsoft.Identity.Web's default clock skew. */
const CLOCK_TOLERANCE_SECONDS = 300;

function invalid(detail: string): ProblemError {
  return problems.id_token_invalid(detail);
}

/**
 * The issuer the token must carry. Entra's multi-tenant documents (`common`, `organizations`)
 * publish `https://login.microsoftonline.com/{tenantid}/v2.0`: the token's `tid` fills it in.
 */
export function expectedIssuer(metadataIssuer: string, tid: unknown): string | undefined {
  if (!metadataIssuer.includes('{tenantid}')) return metadataIssuer;
  if (typeof tid !== 'string' || !/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(tid)) return undefined;
  return metadataIssuer.replace('{tenantid}', tid);
}

/** MSAL does not check the ID token's signature, issuer, audience or expiry: this does. */
export async function validateIdToken(idToken: string | undefined, provider: Provider, clientId: string, nonce: string): Promise<JWTPayload> {
  if (!idToken) throw invalid('The provider returned no ID token.');
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(idToken, provider.jwks, { audience: clientId, algorithms: ALLOWED_ALGORITHMS, clockTolerance: CLOCK_TOLERANCE_SECONDS, requiredClaims: ['iss', 'sub', 'aud', 'exp', 'iat'] }));
  } catch (error) {
    // A failure that is not a JOSE verdict is the key fetch failing: the provider, not the token.
    if (error instanceof joseErrors.JWKSTimeout) throw problems.provider_timeout('The signing keys could not be fetched in time.');
    if (!(error instanceof joseErrors.JOSEError)) throw problems.provider_unavailable('The signing keys could not be fetched.');
    throw invalid(describeJoseFailure(error));
  }
  const issuer = expectedIssuer(provider.metadata.issuer, payload.tid);
  if (!issuer || payload.iss !== issuer) throw invalid('The ID token was issued by another issuer.');
  if (payload.nonce !== nonce) throw invalid('The ID token does not carry the nonce of this sign-in.');
  // OpenID Connect Core 3.1.3.7: with several audiences, azp must be present; when present, it must be us.
  // Stryker disable next-line ArrayDeclaration: equivalent, only "more than one audience" is read, which [] and [aud] both are not
  const audiences = Array.isArray(payload.aud) ? payload.aud : [payload.aud];
  if ((audiences.length > 1 || payload.azp !== undefined) && payload.azp !== clientId) throw invalid('The ID token was issued to another party (azp).');
  return payload;
}

function describeJoseFailure(error: unknown): string {
  if (error instanceof joseErrors.JWTExpired) return 'The ID token has expired.';
  if (error instanceof joseErrors.JWTClaimValidationFailed) return `The ID token's "${error.claim}" claim is not valid.`;
  if (error instanceof joseErrors.JWSSignatureVerificationFailed) return 'The ID token signature does not verify.';
  if (error instanceof joseErrors.JOSEAlgNotAllowed) return 'The ID token uses an algorithm that is not allowed.';
  if (error instanceof joseErrors.JWKSNoMatchingKey) return 'The ID token is signed by a key the provider does not publish.';
  return 'The ID token is malformed.';
}
