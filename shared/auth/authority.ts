import { b2cAuthorityUrl, type AppConfig } from '../config';
import { problems } from '../problems';

/** The authority for a sign-in: for Azure AD B2C, the requested user flow's (policy) among the configured ones. */
export function authorityFor(config: AppConfig, policy?: string | null): { url: string; policy?: string } {
  const b2c = config.authority.b2c;
  if (!b2c) return { url: config.authority.url };
  const chosen = policy ?? b2c.signUpSignInPolicyId;
  const allowed = [b2c.signUpSignInPolicyId, b2c.resetPasswordPolicyId, b2c.editProfilePolicyId].filter(Boolean);
  const match = allowed.find((p) => p!.toLowerCase() === chosen.toLowerCase());
  if (!match) throw problems.policy_unknown('The policy parameter must name a configured user flow.');
  return { url: b2cAuthorityUrl(b2c, match), policy: match };
}
