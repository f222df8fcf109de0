import type { Settings } from '../shared/config';
import { DEFAULT_USERS, DEV_TENANT_ID, type DevUser } from './idp';

/**
 * How the local app is pointed at the dev provider. `oidc` is a plain OpenID provider; the
 * others use the Microsoft authority paths the provider also serves (dev/idp/dialect.ts):
 * - `tenant`: a single tenant, `AzureAd__Instance` + `AzureAd__TenantId` (also the shape of an
 *   External ID tenant behind a custom URL domain);
 * - `organizations` / `common`: multi-tenant, the issuer checked against the token's `tid`;
 * - `b2c`: Azure AD B2C user flows (`B2C_1_susi`, `B2C_1_reset`, `B2C_1_edit`).
 */
export type DevAuthorityShape = 'oidc' | 'tenant' | 'organizations' | 'common' | 'b2c';
export const DEV_AUTHORITY_SHAPES: readonly DevAuthorityShape[] = ['oidc', 'tenant', 'organizations', 'common', 'b2c'];

export const DEV_B2C = { domain: 'contoso.onmicrosoft.com', signUpSignIn: 'B2C_1_susi', resetPassword: 'B2C_1_reset', editProfile: 'B2C_1_edit' } as const;

export function authoritySettings(issuer: string, shape: DevAuthorityShape = 'oidc'): Settings {
  switch (shape) {
    case 'oidc':
      return { AzureAd__Authority: issuer };
    case 'tenant':
      return { AzureAd__Instance: `${issuer}/`, AzureAd__TenantId: DEV_TENANT_ID };
    case 'organizations':
    case 'common':
      return { AzureAd__Instance: `${issuer}/`, AzureAd__TenantId: shape };
    case 'b2c':
      return {
        AzureAd__Instance: `${issuer}/`,
        AzureAd__Domain: DEV_B2C.domain,
        AzureAd__SignUpSignInPolicyId: DEV_B2C.signUpSignIn,
        AzureAd__ResetPasswordPolicyId: DEV_B2C.resetPassword,
        AzureAd__EditProfilePolicyId: DEV_B2C.editProfile,
      };
  }
}

/** Every issuer the provider's tokens can carry, for the APIs that check them: plain, per tenant, B2C. */
export function acceptedIssuers(issuer: string, users: readonly DevUser[] = DEFAULT_USERS): string[] {
  const tenants = new Set([DEV_TENANT_ID, ...users.map((u) => u.tid)]);
  return [issuer, ...[...tenants].map((tid) => `${issuer}/${tid}/v2.0`), `${issuer}/${DEV_TENANT_ID}/v2.0/`];
}
