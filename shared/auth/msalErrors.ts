import type { AuthError, ServerError } from '@azure/msal-node';
import { msalNode } from './msalNode';
import { ProblemError, problems } from '../problems';

/** Entra's codes for a client credential the provider refuses (secret rotated, certificate expired...). */
const CLIENT_CREDENTIAL_CODES = ['AADSTS7000215', 'AADSTS7000222', 'AADSTS700027', 'AADSTS700024', 'AADSTS7000214', 'AADSTS1000502'];

export function isClientCredentialRejected(error: unknown): boolean {
  if (!(error instanceof msalNode().AuthError)) return false;
  if (error.errorCode === 'invalid_client') return true;
  const text = `${error.errorMessage ?? ''} ${(error as ServerError).subError ?? ''}`;
  return CLIENT_CREDENTIAL_CODES.some((code) => text.includes(code));
}

export function isInteractionRequired(error: unknown): boolean {
  const { InteractionRequiredAuthError, ServerError } = msalNode();
  if (error instanceof InteractionRequiredAuthError) return true;
  return error instanceof ServerError && ['invalid_grant', 'interaction_required', 'consent_required', 'login_required'].includes(error.errorCode);
}

function isUnreachable(error: AuthError): boolean {
  const status = (error as ServerError & { status?: number }).status;
  if (typeof status === 'number' && status >= 500) return true;
  // OAuth's own words for a provider that is down (RFC 6749 section 4.1.2.1).
  if (error.errorCode === 'temporarily_unavailable' || error.errorCode === 'server_error') return true;
  return /network|fetch|endpoints_resolution|no_network|ECONN|timed?\s?out|status 5\d\d/i.test(`${error.errorCode} ${error.errorMessage}`);
}

/**
 * Maps a failed MSAL call (code redemption, silent or client-credentials request) to the
 * contract's answer. Only MSAL's own errors speak for the provider: anything else (a TypeError
 * in our code, a cache plugin bug) is rethrown as it is, so it ends as 500 `internal_error` and
 * is never mis-blamed on the provider as `provider_unavailable`.
 */
export function codeRedemptionProblem(error: unknown): ProblemError {
  if (error instanceof ProblemError) return error;
  if (!(error instanceof msalNode().AuthError)) throw error;
  if (error.errorCode === 'nonce_mismatch') return problems.id_token_invalid('The ID token does not carry the nonce of this sign-in.');
  if (error.errorCode === 'state_mismatch' || error.errorCode === 'state_not_found') return problems.state_mismatch();
  if (isClientCredentialRejected(error)) return problems.client_credential_rejected();
  if (isUnreachable(error)) return problems.provider_unavailable();
  if (error instanceof msalNode().ServerError) return problems.code_rejected(`Provider error: ${safeCode(error.errorCode)}. Sign in again.`);
  return problems.code_rejected();
}

/** Provider error codes are echoed only when they look like codes, never free text. */
export function safeCode(code: unknown): string {
  return typeof code === 'string' && /^[a-z0-9_.-]{1,64}$/i.test(code) ? code : 'unknown';
}
