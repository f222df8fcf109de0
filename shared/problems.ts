import type { ConfigurationError } from './errors';
import type { ResponseCookie } from './session/cookies';

/**
 * The catalogue of every problem a client can see (RFC 9457 problem details): one entry per
 * stable `code`, with its HTTP status and its human title. A new problem is one new line here
 * (and its row in docs/problems.md, which a test checks against this table); every answer is
 * then built by `problems.<code>(detail?, extensions?)`.
 *
 * Titles are for humans and never carry a token, secret or cookie value; `detail` says what to
 * do about it and may name a setting.
 */
/** What a 502/503/504 tells the caller to wait before trying again (`Retry-After`). */
export const RETRY_AFTER_SECONDS = 5;

export const PROBLEM_CATALOGUE = {
  // Our own bugs: the log line names the error's type and code, the answer says nothing more.
  internal_error: { status: 500, title: 'Something went wrong' },
  configuration_invalid: { status: 503, title: 'The app is not configured correctly' },
  not_ready: { status: 503, title: 'The app cannot sign anyone in yet' },
  not_found: { status: 404, title: 'Not found' },
  antiforgery_header_missing: { status: 403, title: 'The X-CSRF: 1 header is required' },

  // Sessions (401 with `loginUrl` where the browser can sign in again).
  not_signed_in: { status: 401, title: 'Not signed in' },
  session_ended: { status: 401, title: 'Sign in again' },
  interaction_required: { status: 401, title: 'Sign-in or consent is required' },
  token_rejected: { status: 401, title: 'The API refused your sign-in; sign in again' },
  logout_sid_mismatch: { status: 400, title: 'Sign-out needs the session\'s logout link' },
  frontchannel_logout_invalid: { status: 400, title: 'The front-channel logout request is not valid' },
  logout_token_invalid: { status: 400, title: 'The logout token is not valid' },

  // /api/login parameters.
  scopes_invalid: { status: 400, title: 'The scopes parameter is not valid' },
  prompt_invalid: { status: 400, title: 'The prompt parameter is not valid' },
  loginHint_invalid: { status: 400, title: 'The loginHint parameter is not valid' },
  domainHint_invalid: { status: 400, title: 'The domainHint parameter is not valid' },
  policy_unknown: { status: 400, title: 'Unknown user flow' },
  claims_invalid: { status: 400, title: 'The claims parameter is not valid' },
  cookie_too_large: { status: 400, title: 'The sign-in does not fit in a browser cookie' },

  // Inputs over a limit.
  request_body_too_large: { status: 413, title: 'The request body is too large' },
  request_headers_too_large: { status: 431, title: 'The request headers are too large' },

  // /api/redirect: the provider's answer.
  callback_invalid: { status: 400, title: 'The sign-in response is not valid' },
  state_missing: { status: 400, title: 'No sign-in is in progress' },
  state_mismatch: { status: 400, title: 'The sign-in response does not match the sign-in request' },
  provider_error: { status: 400, title: 'The identity provider did not sign you in' },
  code_missing: { status: 400, title: 'The sign-in response carries no code' },
  code_rejected: { status: 400, title: 'The identity provider refused the sign-in code' },
  id_token_invalid: { status: 401, title: 'The sign-in could not be verified' },
  tenant_not_allowed: { status: 403, title: 'Your organization cannot use this app' },
  issuer_mismatch: { status: 400, title: 'The sign-in response comes from another issuer' },
  provider_unavailable: { status: 502, title: 'The identity provider could not be reached', retryAfterSeconds: RETRY_AFTER_SECONDS },
  provider_timeout: { status: 504, title: 'The identity provider did not answer in time', retryAfterSeconds: RETRY_AFTER_SECONDS },

  // Time limits: every outbound call has a timeout, every request a deadline well inside the host's 230 s.
  request_deadline_exceeded: { status: 503, title: 'The request took too long and was stopped', retryAfterSeconds: RETRY_AFTER_SECONDS },

  // The app's client credential.
  client_credential_rejected: { status: 502, title: 'The identity provider refused the app\'s credential' },
  client_credential_unavailable: { status: 503, title: 'The app could not load its client credential', retryAfterSeconds: RETRY_AFTER_SECONDS },
  credential_source_unsupported: { status: 503, title: 'Unsupported credential source' },
  client_certificate_invalid: { status: 503, title: 'The app\'s client certificate cannot be used' },
  client_certificate_not_yet_valid: { status: 503, title: 'The app\'s client certificate is outside its validity period' },
  client_certificate_expired: { status: 503, title: 'The app\'s client certificate is outside its validity period' },
  managed_identity_unavailable: { status: 503, title: 'The app\'s managed identity gave no token', retryAfterSeconds: RETRY_AFTER_SECONDS },
  managed_identity_timeout: { status: 504, title: 'The managed identity endpoint did not answer in time', retryAfterSeconds: RETRY_AFTER_SECONDS },

  // Key Vault.
  key_vault_secret_not_found: { status: 503, title: 'The app could not read its Key Vault' },
  key_vault_secret_empty: { status: 503, title: 'The app could not read its Key Vault' },
  key_vault_access_denied: { status: 503, title: 'The app could not read its Key Vault' },
  key_vault_throttled: { status: 503, title: 'The app could not read its Key Vault', retryAfterSeconds: RETRY_AFTER_SECONDS },
  key_vault_unavailable: { status: 503, title: 'The app could not read its Key Vault', retryAfterSeconds: RETRY_AFTER_SECONDS },
  key_vault_unreachable: { status: 503, title: 'The app could not read its Key Vault', retryAfterSeconds: RETRY_AFTER_SECONDS },
  key_vault_sign_in_failed: { status: 503, title: 'The app could not read its Key Vault' },
  key_vault_request_failed: { status: 503, title: 'The app could not read its Key Vault' },
  key_vault_timeout: { status: 504, title: 'Key Vault did not answer in time', retryAfterSeconds: RETRY_AFTER_SECONDS },
  session_keys_invalid: { status: 503, title: 'The app\'s session keys are not usable' },
  token_cache_keys_invalid: { status: 503, title: 'The token cache keys are not usable' },

  // The token cache.
  token_cache_unavailable: { status: 503, title: 'The token cache could not be reached', retryAfterSeconds: RETRY_AFTER_SECONDS },
  token_cache_timeout: { status: 504, title: 'The token cache did not answer in time', retryAfterSeconds: RETRY_AFTER_SECONDS },
  token_cache_contended: { status: 503, title: 'The token cache is busy, try again', retryAfterSeconds: 1 },
  token_cache_too_large: { status: 507, title: 'The account\'s token cache is too large to store' },

  // The proxy.
  proxy_path_invalid: { status: 400, title: 'The API path is not allowed' },
  api_unknown: { status: 404, title: 'Unknown API' },
  api_unavailable: { status: 502, title: 'The API could not be reached', retryAfterSeconds: RETRY_AFTER_SECONDS },
  api_timeout: { status: 504, title: 'The API did not answer in time', retryAfterSeconds: RETRY_AFTER_SECONDS },

  // /api/obo: a protected web API (RFC 6750 bearer tokens, answered with WWW-Authenticate).
  bearer_token_missing: { status: 401, title: 'A bearer token is required' },
  bearer_token_invalid: { status: 401, title: 'The bearer token is not valid' },
  bearer_scope_insufficient: { status: 403, title: 'The bearer token lacks the required scope or app role' },
  obo_exchange_refused: { status: 502, title: 'The identity provider refused the on-behalf-of exchange' },
} as const satisfies Record<string, { readonly status: number; readonly title: string; readonly retryAfterSeconds?: number }>;

export type ProblemCode = keyof typeof PROBLEM_CATALOGUE;

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/**
 * A problem on its way to the caller. Build it through `problems.<code>()`: the code alone
 * decides status and title, so the same problem reads the same wherever it is raised.
 */
export class ProblemError extends Error {
  readonly status: number;
  readonly title: string;
  /** Sent as `Retry-After` when the catalogue gives one (a dependency that may come back). */
  readonly retryAfterSeconds: number | undefined;
  /** Cookies the answer must still set or clear (never part of the body). */
  cookies: readonly ResponseCookie[] = [];
  /** A `WWW-Authenticate` challenge (RFC 6750) for the answer of a protected web API. */
  challenge: string | undefined;

  constructor(
    readonly code: ProblemCode,
    readonly detail?: string,
    readonly extensions: Readonly<Record<string, unknown>> = {},
  ) {
    const entry: { readonly status: number; readonly title: string; readonly retryAfterSeconds?: number } = PROBLEM_CATALOGUE[code];
    super(detail ? `${entry.title}: ${detail}` : entry.title);
    this.name = 'ProblemError';
    this.status = entry.status;
    this.title = entry.title;
    this.retryAfterSeconds = entry.retryAfterSeconds;
  }

  withCookies(cookies: readonly ResponseCookie[]): this {
    this.cookies = cookies;
    return this;
  }

  withChallenge(challenge: string): this {
    this.challenge = challenge;
    return this;
  }
}

export type ProblemFactory = (detail?: string, extensions?: Readonly<Record<string, unknown>>) => ProblemError;

/** One factory per code: `problems.session_ended('The account\'s tokens are gone.', { loginUrl })`. */
export const problems = Object.fromEntries(
  (Object.keys(PROBLEM_CATALOGUE) as ProblemCode[]).map((code) => [code, (detail?: string, extensions?: Readonly<Record<string, unknown>>) => new ProblemError(code, detail, extensions)]),
) as { readonly [C in ProblemCode]: ProblemFactory };

export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  code: ProblemCode;
  detail?: string;
  [extension: string]: unknown;
}

export function problemType(code: ProblemCode): string {
  return `urn:token-handler:problem:${code}`;
}

export function problemBody(error: ProblemError): ProblemBody {
  return {
    ...error.extensions,
    type: problemType(error.code),
    title: error.title,
    status: error.status,
    code: error.code,
    ...(error.detail ? { detail: error.detail } : {}),
  };
}

/** 503 naming the settings (never their values). */
export function configurationProblem(error: ConfigurationError): ProblemError {
  return problems.configuration_invalid(error.message, { settings: error.settings });
}

/** 401 that tells the browser where to sign in (again) or consent; an XHR never gets a redirect to the login page. */
export function signInRequired(code: 'not_signed_in' | 'session_ended' | 'interaction_required', loginUrl: string, detail?: string): ProblemError {
  return problems[code](detail, { loginUrl });
}
