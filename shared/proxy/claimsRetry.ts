import { signInRequired } from '../problems';
import { claimsChallengeOf, loginUrlWithClaims } from '../auth/claimsChallenge';
import type { ProxiedAnswer } from './forward';
import { logEvent } from '../log';

/**
 * One answer to a downstream claims challenge (401 `insufficient_claims`): a token asked for
 * silently with the claims, and the call sent once more. When that cannot be done (the call
 * had a body that is already spent, the provider wants the user, or the API asks again), the
 * browser gets 401 with a `loginUrl` that carries the claims. Never a second silent try: a
 * client that declares cp1 and keeps retrying is the loop Microsoft warns about.
 */
export async function answerClaimsChallenge(
  answer: ProxiedAnswer,
  options: {
    readonly replayable: boolean;
    readonly loginUrl: string;
    readonly acquireWithClaims: (claims: string) => Promise<string>;
    readonly forward: (accessToken: string) => Promise<ProxiedAnswer>;
  },
): Promise<ProxiedAnswer> {
  const claims = claimsChallengeOf(answer.status, answer.headers['www-authenticate']);
  if (!claims) return answer;
  // Never the claims themselves: only what was done about them.
  logEvent('claims_challenge', { reason: options.replayable ? 'silent_retry' : 'body_spent' });
  await answer.body?.cancel().catch(() => {});
  const loginUrl = loginUrlWithClaims(options.loginUrl, claims);
  if (!options.replayable) throw signInRequired('interaction_required', loginUrl, 'The API asks for more claims; sign in again to answer it.');
  const second = await options.forward(await options.acquireWithClaims(claims));
  const again = claimsChallengeOf(second.status, second.headers['www-authenticate']);
  if (!again) return second;
  logEvent('claims_challenge', { outcome: 'failed', reason: 'asked_again' });
  await second.body?.cancel().catch(() => {});
  throw signInRequired('interaction_required', loginUrlWithClaims(options.loginUrl, again), 'The API asks for claims a silent token request cannot give; sign in again.');
}
