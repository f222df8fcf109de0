import { randomBytes } from 'node:crypto';
import { msalNode } from './msalNode';
import type { Runtime } from '../runtime';
import { ProblemError, problems } from '../problems';
import { safeReturnUrl } from '../returnUrl';
import { sameSecretValue } from '../constantTime';
import { partitionKeyFor } from '../tokenCache/tableStore';
import { recordSignIn } from '../session/sessionRecords';
import { linkForLogout } from '../session/logoutLinks';
import {
  AUTH_REQUEST_LIFETIME_SECONDS,
  authRequestCookie,
  clearedAuthRequestCookie,
  newSessionId,
  pickSessionClaims,
  readAuthRequest,
  sessionCookie,
  type AuthRequest,
  type Session,
} from '../session/session';
import type { ResponseCookie } from '../session/cookies';
import { authorityFor } from './authority';
import { createConfidentialClient, networkFailure } from './msalClient';
import { validateIdToken } from './idToken';
import type { ProviderMetadata } from './discovery';
import { codeRedemptionProblem, safeCode } from './msalErrors';
import { withCredentialRetry } from './credentialRetry';
import { parseClaimsRequest } from './claimsChallenge';
import { appPageUrl } from './signInOrigin';
import { b2cNavigationForError } from './b2cErrors';

const PROMPTS = new Set(['login', 'none', 'consent', 'select_account', 'create']);
// RFC 6749 scope-token characters.
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]{1,256}$/;
const MAX_EXTRA_SCOPES = 20;

export interface SignInOptions {
  readonly returnUrl?: string | null;
  readonly prompt?: string | null;
  readonly loginHint?: string | null;
  readonly domainHint?: string | null;
  readonly scopes?: string | null;
  readonly policy?: string | null;
  /** A claims challenge to satisfy (JSON), from a proxy 401's `loginUrl`. */
  readonly claims?: string | null;
}

function randomValue(): string {
  return randomBytes(32).toString('base64url');
}

export function parseExtraScopes(value: string | null | undefined): string[] {
  const scopes = (value ?? '').split(/[\s+]+/).filter(Boolean);
  if (scopes.length > MAX_EXTRA_SCOPES || scopes.some((s) => !SCOPE_TOKEN.test(s))) {
    throw problems.scopes_invalid(`Give at most ${MAX_EXTRA_SCOPES} space-separated scopes.`);
  }
  return scopes;
}

function hint(value: string | null | undefined, name: 'loginHint' | 'domainHint'): string | undefined {
  if (!value) return undefined;
  if (value.length > 256 || /[\u0000-\u001f\u007f]/.test(value)) throw problems[`${name}_invalid`]();
  return value;
}

/** /api/login: the authorization URL (code flow, PKCE S256, state, nonce) and the sealed cookie that remembers them. */
export async function beginSignIn(runtime: Runtime, options: SignInOptions): Promise<{ location: string; cookie: ResponseCookie }> {
  const { config } = runtime;
  const prompt = options.prompt ?? undefined;
  if (prompt !== undefined && !PROMPTS.has(prompt)) throw problems.prompt_invalid(`Use one of ${[...PROMPTS].join(', ')}.`);
  const loginHint = hint(options.loginHint, 'loginHint');
  const domainHint = hint(options.domainHint, 'domainHint');
  const scopes = [...new Set([...config.signInScopes, ...parseExtraScopes(options.scopes)])];
  const authority = authorityFor(config, options.policy);
  const claims = parseClaimsRequest(options.claims);

  const provider = await runtime.providers.get(authority.url);
  const { verifier, challenge } = await new (msalNode().CryptoProvider)().generatePkceCodes();
  const request: AuthRequest = {
    state: randomValue(),
    nonce: randomValue(),
    codeVerifier: verifier,
    returnUrl: safeReturnUrl(options.returnUrl),
    scopes,
    policy: authority.policy,
    ...(claims ? { claims } : {}),
    exp: Math.floor(Date.now() / 1000) + AUTH_REQUEST_LIFETIME_SECONDS,
  };
  const location = await withCredentialRetry(runtime, (credential) =>
    createConfidentialClient(config, authority.url, provider, credential).getAuthCodeUrl({
      scopes,
      redirectUri: config.redirectUri,
      // The provider posts the code back (form_post), as Microsoft.Identity.Web does: it stays out of URLs and logs.
      responseMode: msalNode().ResponseMode.FORM_POST,
      codeChallenge: challenge,
      codeChallengeMethod: 'S256',
      state: request.state,
      nonce: request.nonce,
      prompt,
      loginHint,
      domainHint,
      claims,
    }),
  );
  try {
    return { location, cookie: await authRequestCookie(runtime.sealer, request) };
  } catch (error) {
    if (error instanceof ProblemError && error.code === 'cookie_too_large') throw cookieTooLargeNaming(request, options);
    throw error;
  }
}

/** 400 naming the inputs that made the auth-request cookie too large, largest first. */
function cookieTooLargeNaming(request: AuthRequest, options: SignInOptions): ProblemError {
  const sizes: [string, number][] = [
    ['returnUrl', request.returnUrl === '/' ? 0 : request.returnUrl.length],
    ['scopes', (options.scopes ?? '').length],
    ['loginHint', (options.loginHint ?? '').length],
    ['domainHint', (options.domainHint ?? '').length],
  ];
  const inputs = sizes.filter(([, size]) => size > 0).sort((a, b) => b[1] - a[1]).map(([name]) => name);
  return problems.cookie_too_large(`Shorten ${inputs.join(' or ') || 'the request'}: the sign-in state must fit in one browser cookie.`, { inputs });
}

/**
 * `AzureAd__AllowedTenants`: the ID token's `tid` (the tenant signed in to, a guest's host
 * tenant included) must be listed, whatever the authority. Checked before any row is written.
 */
export function requireAllowedTenant(allowed: readonly string[] | undefined, tid: unknown): void {
  if (!allowed) return;
  if (typeof tid === 'string' && allowed.includes(tid.toLowerCase())) return;
  throw problems.tenant_not_allowed('Accounts of your organization (tenant) are not allowed to sign in here. Sign in with an account of an allowed organization.', {
    loginUrl: '/api/login?prompt=select_account&returnUrl=%2Fapi%2F',
  });
}

/** The provider's answer at /api/redirect, from the query (GET) or the posted form. */
export interface AuthorizationResponse {
  readonly code?: string | null;
  readonly state?: string | null;
  readonly error?: string | null;
  /** Read only for Azure AD B2C's AADB2C codes; never echoed. */
  readonly errorDescription?: string | null;
  /** RFC 9207: the issuer that answered, when the provider sends it. */
  readonly iss?: string | null;
}

/**
 * RFC 9207: a provider that advertises `authorization_response_iss_parameter_supported` must
 * send `iss`, and any `iss` sent must be the provider's issuer (a mix-up attack otherwise).
 */
export function checkAuthorizationResponseIssuer(iss: string | null | undefined, metadata: ProviderMetadata): void {
  const advertised = metadata['authorization_response_iss_parameter_supported'] === true;
  if ((iss === null || iss === undefined) && !advertised) return;
  const expected = metadata.issuer.includes('{tenantid}')
    ? new RegExp(`^${metadata.issuer.split('{tenantid}').map(escapeRegExp).join(GUID_PATTERN)}$`, 'i')
    : undefined;
  const matches = typeof iss === 'string' && (expected ? expected.test(iss) : iss === metadata.issuer);
  if (!matches) throw problems.issuer_mismatch(iss ? 'Its iss parameter is not the provider\'s issuer.' : 'The provider sends an iss parameter and this response has none.');
}

const GUID_PATTERN = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';
function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** `returnUrl` (a local path) with `signInError=<code>` for the page to read. */
export function withSignInError(returnUrl: string, code: 'access_denied'): string {
  const url = new URL(returnUrl, 'http://local.invalid');
  url.searchParams.set('signInError', code);
  return `${url.pathname}${url.search}${url.hash}`;
}

/**
 * /api/redirect: checks the state against the auth-request cookie, redeems the code with MSAL
 * (verifier, state and nonce), validates the ID token, writes the account's cache row (one
 * Table write), and starts a new session.
 */
export async function completeSignIn(runtime: Runtime, response: AuthorizationResponse, cookieHeader: string | null): Promise<{ location: string; cookies: ResponseCookie[] }> {
  const { config } = runtime;
  const pending = await readAuthRequest(runtime.sealer, cookieHeader);
  // A callback whose state does not match changes nothing, not even the pending sign-in's cookie.
  if (!pending) {
    throw problems.state_missing(
      `The sign-in request expired, or was started in another browser or at another address than ${appPageUrl(config.redirectUri)}. Open ${appPageUrl(config.redirectUri)} and sign in again.`,
    );
  }
  if (!sameSecretValue(response.state, pending.state)) throw problems.state_mismatch();

  const clear = clearedAuthRequestCookie();
  // The user said no (Cancel on the provider's consent or sign-in page): a choice, not a failure.
  // Back to where they were, with a note the page shows calmly; their session, if any, is untouched.
  // B2C's "forgot password" also comes as access_denied: it starts the reset flow instead.
  const b2cNavigation = response.error ? b2cNavigationForError(config, response.errorDescription, pending.returnUrl) : undefined;
  if (b2cNavigation) return { location: b2cNavigation, cookies: [clear] };
  if (response.error === 'access_denied') return { location: withSignInError(pending.returnUrl, 'access_denied'), cookies: [clear] };
  try {
    const authority = authorityFor(config, pending.policy);
    const provider = await runtime.providers.get(authority.url);
    // Before the error too: an error response from the wrong issuer is no verdict either.
    checkAuthorizationResponseIssuer(response.iss, provider.metadata);
    if (response.error) throw problems.provider_error(`Provider error: ${safeCode(response.error)}.`, { error: safeCode(response.error) });
    if (!response.code) throw problems.code_missing();

    const { result, cache } = await withCredentialRetry(runtime, async (credential) => {
      const client = createConfidentialClient(config, authority.url, provider, credential);
      try {
        const result = await client.acquireTokenByCode(
          { code: response.code!, scopes: [...pending.scopes], redirectUri: config.redirectUri, codeVerifier: pending.codeVerifier, state: pending.state, nonce: pending.nonce, claims: pending.claims },
          { code: response.code!, state: pending.state, nonce: pending.nonce },
        );
        return { result, cache: client.getTokenCache().serialize() };
      } catch (error) {
        throw networkFailure(client) ?? codeRedemptionProblem(error);
      }
    });
    const claims = await validateIdToken(result.idToken, provider, config.clientId, pending.nonce);
    requireAllowedTenant(config.allowedTenants, claims.tid);
    // Stryker disable next-line OptionalChaining: unreachable, MSAL returns an account with every ID token, which validateIdToken has just required
    const homeAccountId = result.account?.homeAccountId;
    // Stryker disable next-line StringLiteral: unreachable for the same reason
    if (!homeAccountId) throw problems.id_token_invalid('The provider returned no account.');

    // Written only now, after the ID token proved itself: a refused sign-in leaves no row.
    const sid = newSessionId();
    const providerSid = typeof claims.sid === 'string' && claims.sid.length <= 256 ? claims.sid : undefined;
    await recordSignIn(runtime, homeAccountId, sid, providerSid, cache);
    await linkForLogout(runtime, provider, claims, homeAccountId, providerSid);
    const now = Math.floor(Date.now() / 1000);
    const session: Session = {
      sid,
      homeAccountId,
      claims: pickSessionClaims(claims),
      policy: pending.policy,
      iat: now,
      exp: now + config.session.absoluteLifetimeSeconds,
    };
    return { location: safeReturnUrl(pending.returnUrl), cookies: [await sessionCookie(runtime.sealer, session), clear] };
  } catch (error) {
    if (error instanceof ProblemError) throw error.withCookies([clear]);
    throw error;
  }
}
