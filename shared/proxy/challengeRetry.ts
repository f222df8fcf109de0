import { problems, signInRequired } from '../problems';
import { claimsChallengeOf, loginUrlWithClaims, tokenRejectedBy } from '../auth/claimsChallenge';
import type { Reacquire } from '../auth/accountTokens';
import type { ProxiedAnswer } from './forward';
import { logEvent } from '../log';

/** What a downstream 401 asks of the token, when a new token can answer it. */
type Challenge = { readonly kind: 'claims'; readonly claims: string } | { readonly kind: 'rejected' };

function challengeOf(answer: ProxiedAnswer): Challenge | undefined {
  const wwwAuthenticate = answer.headers['www-authenticate'];
  const claims = claimsChallengeOf(answer.status, wwwAuthenticate);
  if (claims) return { kind: 'claims', claims };
  return tokenRejectedBy(answer.status, wwwAuthenticate) ? { kind: 'rejected' } : undefined;
}

function logChallenge(challenge: Challenge, fields: { reason: string; outcome?: 'failed' }): void {
  // Never the claims or the token: only what was done about them.
  logEvent(challenge.kind === 'claims' ? 'claims_challenge' : 'token_rejected', fields);
}

function giveUp(challenge: Challenge, loginUrl: string): never {
  if (challenge.kind === 'rejected') throw problems.token_rejected('The API refuses the token the app holds for you; sign in again.', { loginUrl });
  throw signInRequired('interaction_required', loginUrlWithClaims(loginUrl, challenge.claims), 'The API asks for claims a silent token request cannot give; sign in again.');
}

/**
 * One answer to a downstream 401 that a new token may satisfy, and never more than one:
 * - a claims challenge (`insufficient_claims`, CAE or an authentication context): a token asked
 *   for silently with the claims;
 * - a refused token (`invalid_token`, or a bare Bearer challenge) the cache still holds as
 *   valid (revoked, keys rolled at the API): the refresh token redeemed once (forced), unless
 *   another caller already replaced that token;
 * then the call sent once more. When that cannot be done (the body cannot be sent again, the
 * provider wants the user, or the API refuses again), the browser gets 401 with a `loginUrl`
 * (carrying the claims, if any). Never a second silent try: at most one token request and two
 * API calls per incoming call; a client that keeps retrying is the loop Microsoft warns about.
 */
export async function answerTokenChallenge(
  answer: ProxiedAnswer,
  options: {
    /** The body was not spent (none, or read whole before the first call). */
    readonly replayable: boolean;
    readonly loginUrl: string;
    /** The token the first call carried. */
    readonly accessToken: string;
    readonly reacquire: (again: Reacquire) => Promise<string>;
    readonly forward: (accessToken: string) => Promise<ProxiedAnswer>;
  },
): Promise<ProxiedAnswer> {
  const challenge = challengeOf(answer);
  if (!challenge) return answer;
  logChallenge(challenge, { reason: options.replayable ? 'silent_retry' : 'body_spent' });
  await answer.body?.cancel().catch(() => {});
  if (!options.replayable) giveUp(challenge, options.loginUrl);
  const token = await options.reacquire(challenge.kind === 'claims' ? { claims: challenge.claims } : { rejectedToken: options.accessToken });
  const second = await options.forward(token);
  const again = challengeOf(second);
  if (!again) return second;
  logChallenge(again, { outcome: 'failed', reason: 'asked_again' });
  await second.body?.cancel().catch(() => {});
  giveUp(again, options.loginUrl);
}
