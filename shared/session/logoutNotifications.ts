import { createHash } from 'node:crypto';
import { decodeProtectedHeader, errors as joseErrors, jwtVerify, type JWTPayload } from 'jose';
import type { Runtime } from '../runtime';
import { authorityFor } from '../auth/authority';
import { expectedIssuer } from '../auth/idToken';
import { problems, type ProblemError } from '../problems';
import { endSessions } from './sessionRecords';

/**
 * Logout notifications from the provider: front-channel (a `sid`, through the browser, in an
 * iframe) and back-channel (a signed `logout_token`, server to server). Both end the matching
 * sessions by removing their records from the account's row, so every instance sees it at the
 * next request; the account's tokens go with its last session.
 */

export const BACKCHANNEL_LOGOUT_EVENT = 'http://schemas.openid.net/event/backchannel-logout';
/** Asymmetric algorithms only: `none` and HMAC are refused. */
const ALLOWED_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];
const CLOCK_TOLERANCE_SECONDS = 300;
/** A logout token is for immediate use: older than this (by `iat`) it is refused whatever its `exp`. */
const MAX_TOKEN_AGE_SECONDS = 10 * 60;
const MAX_TOKEN_CHARS = 16 * 1024;
const MAX_ID_CHARS = 256;
const ACCEPTED_TYPES = new Set(['logout+jwt', 'application/logout+jwt', 'jwt']);

export interface LogoutOutcome {
  /** App sessions ended (0 when none matched: still a success for the provider). */
  readonly ended: number;
}

async function providerIssuer(runtime: Runtime): Promise<{ issuer: string; provider: Awaited<ReturnType<Runtime['providers']['get']>> }> {
  const provider = await runtime.providers.get(authorityFor(runtime.config).url);
  return { issuer: provider.metadata.issuer, provider };
}

/** The provider's issuer, Entra's `{tenantid}` template matched against any tenant id. */
function isProviderIssuer(metadataIssuer: string, iss: string): boolean {
  if (!metadataIssuer.includes('{tenantid}')) return iss === metadataIssuer;
  const tid = /^[0-9a-f-]{36}$/i.exec(iss.split('/').find((part) => /^[0-9a-f-]{36}$/i.test(part)) ?? '')?.[0];
  return tid !== undefined && expectedIssuer(metadataIssuer, tid) === iss;
}

/**
 * The origins allowed to frame the front-channel logout page: the authority's and that of the
 * provider's end-session page, which is what loads the iframe (Entra serves both from one
 * origin; a provider may serve its browser pages from another).
 */
export async function logoutFrameAncestors(runtime: Runtime): Promise<string[]> {
  const origins = new Set([new URL(authorityFor(runtime.config).url).origin]);
  const provider = await runtime.providers.get(authorityFor(runtime.config).url).catch(() => undefined);
  const endSession = provider?.metadata.end_session_endpoint;
  if (endSession && URL.canParse(endSession)) origins.add(new URL(endSession).origin);
  return [...origins];
}

/** Ends the sessions of one provider session, found through its sid link; the link's issuer must match a given `iss`. */
async function endByProviderSid(runtime: Runtime, sid: string, iss: string | undefined): Promise<number> {
  const link = await runtime.tokenCache.readLink('sid', sid, iss ?? '');
  if (!link || (iss !== undefined && link.issuer !== iss)) return 0;
  return endSessions(runtime, link.account, (entry) => entry.providerSid === sid);
}

function frontChannelInvalid(detail: string): ProblemError {
  return problems.frontchannel_logout_invalid(detail);
}

/**
 * `GET /api/logout/frontchannel?sid=…[&iss=…]`. Entra sends `sid` without `iss`: accepted; an
 * `iss` that is present must be the provider's, or nothing ends.
 */
export async function frontChannelLogout(runtime: Runtime, params: { sid: string | null; iss: string | null }): Promise<LogoutOutcome> {
  const { sid, iss } = params;
  if (!sid || sid.length > MAX_ID_CHARS) throw frontChannelInvalid('The request carries no sid.');
  if (iss !== null) {
    const { issuer } = await providerIssuer(runtime);
    if (!isProviderIssuer(issuer, iss)) throw frontChannelInvalid('The iss is not this app\'s provider.');
  }
  return { ended: await endByProviderSid(runtime, sid, iss ?? undefined) };
}

function logoutTokenInvalid(detail: string): ProblemError {
  // `error` is the spec's (section 2.8) for a provider that reads the body.
  return problems.logout_token_invalid(detail, { error: 'invalid_request' });
}

/** Sections 2.4 and 2.6 of OpenID Connect Back-Channel Logout 1.0, then a `jti` seen within the token's lifetime is refused. */
export async function validateLogoutToken(runtime: Runtime, token: string | null): Promise<JWTPayload & { iss: string; jti: string; exp: number }> {
  if (!token) throw logoutTokenInvalid('The request carries no logout_token.');
  if (token.length > MAX_TOKEN_CHARS) throw logoutTokenInvalid('The logout_token is too large.');
  const parts = token.split('.');
  if (parts.length === 5) throw logoutTokenInvalid('Encrypted logout tokens are not accepted: the app has no decryption key registered.');
  if (parts.length !== 3) throw logoutTokenInvalid('The logout_token is not a signed JWT.');
  let header: ReturnType<typeof decodeProtectedHeader>;
  try {
    header = decodeProtectedHeader(token);
  } catch {
    throw logoutTokenInvalid('The logout_token header does not decode.');
  }
  if (typeof header.alg !== 'string' || !ALLOWED_ALGORITHMS.includes(header.alg)) throw logoutTokenInvalid('The logout_token must be signed with an asymmetric algorithm.');
  // typ logout+jwt is recommended, not required; any other explicit type is another kind of JWT.
  if (header.typ !== undefined && !ACCEPTED_TYPES.has(String(header.typ).toLowerCase())) throw logoutTokenInvalid('The logout_token has another JWT type.');

  const { issuer, provider } = await providerIssuer(runtime);
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(token, provider.jwks, {
      audience: runtime.config.clientId,
      algorithms: ALLOWED_ALGORITHMS,
      clockTolerance: CLOCK_TOLERANCE_SECONDS,
      maxTokenAge: MAX_TOKEN_AGE_SECONDS,
      requiredClaims: ['iss', 'aud', 'iat', 'exp', 'jti'],
    }));
  } catch (error) {
    if (error instanceof joseErrors.JWKSTimeout || !(error instanceof joseErrors.JOSEError)) throw problems.provider_unavailable('The signing keys could not be fetched.');
    throw logoutTokenInvalid(describeJoseFailure(error));
  }
  if (typeof payload.iss !== 'string' || !isProviderIssuer(issuer, payload.iss)) throw logoutTokenInvalid('The logout_token was issued by another issuer.');
  const events = payload['events'];
  if (!events || typeof events !== 'object' || Array.isArray(events)) throw logoutTokenInvalid('The logout_token has no events claim.');
  const event = (events as Record<string, unknown>)[BACKCHANNEL_LOGOUT_EVENT];
  if (!event || typeof event !== 'object' || Array.isArray(event)) throw logoutTokenInvalid('The events claim does not declare a back-channel logout.');
  const sub = payload.sub;
  const sid = payload['sid'];
  if (sub !== undefined && (typeof sub !== 'string' || sub === '' || sub.length > MAX_ID_CHARS)) throw logoutTokenInvalid('The sub claim is malformed.');
  if (sid !== undefined && (typeof sid !== 'string' || sid === '' || sid.length > MAX_ID_CHARS)) throw logoutTokenInvalid('The sid claim is malformed.');
  if (sub === undefined && sid === undefined) throw logoutTokenInvalid('The logout_token names neither sub nor sid.');
  if ('nonce' in payload) throw logoutTokenInvalid('A logout_token must not carry a nonce.');
  if (typeof payload.jti !== 'string' || payload.jti === '' || payload.jti.length > MAX_ID_CHARS) throw logoutTokenInvalid('The jti claim is malformed.');
  return payload as JWTPayload & { iss: string; jti: string; exp: number };
}

/**
 * `POST /api/logout/backchannel`: a valid token answers 200 whether or not a session matched;
 * with `sid` it ends that provider session's app sessions, with `sub` alone every session of
 * the user (and the account's tokens).
 */
export async function backChannelLogout(runtime: Runtime, token: string | null): Promise<LogoutOutcome> {
  const claims = await validateLogoutToken(runtime, token);
  // Replay: one insert per token id, kept until the token would have expired anyway.
  const replayKey = createHash('sha256').update(`${claims.iss}\n${claims.jti}`, 'utf8').digest('base64url');
  const firstUse = await runtime.tokenCache.recordOnce(`jti-${replayKey}`, new Date((claims.exp + CLOCK_TOLERANCE_SECONDS) * 1000));
  if (!firstUse) throw logoutTokenInvalid('This logout_token was already used.');

  const sid = typeof claims['sid'] === 'string' ? claims['sid'] : undefined;
  let ended = 0;
  if (sid) ended = await endByProviderSid(runtime, sid, claims.iss);
  else {
    const link = await runtime.tokenCache.readLink('sub', claims.sub!, claims.iss);
    if (link && link.issuer === claims.iss) ended = await endSessions(runtime, link.account, () => true);
  }
  return { ended };
}

function describeJoseFailure(error: unknown): string {
  if (error instanceof joseErrors.JWTExpired) return 'The logout_token has expired.';
  if (error instanceof joseErrors.JWTClaimValidationFailed) return `The logout_token's "${error.claim}" claim is not valid.`;
  if (error instanceof joseErrors.JWSSignatureVerificationFailed) return 'The logout_token signature does not verify.';
  if (error instanceof joseErrors.JOSEAlgNotAllowed) return 'The logout_token uses an algorithm that is not allowed.';
  if (error instanceof joseErrors.JWKSNoMatchingKey) return 'The logout_token is signed by a key the provider does not publish.';
  return 'The logout_token is malformed.';
}
