import type { Dialect } from './dialect';
import { MULTI_TENANT } from './dialect';
import type { DevUser } from './types';

/**
 * Answers Microsoft's authorities give where a plain OpenID provider has none: a user of
 * another tenant at a single-tenant authority, and B2C's "forgot password" and "cancelled"
 * codes, which come back to the app as `access_denied` with an AADB2C code in the description.
 */
export function tenantRefusal(dialect: Dialect | undefined, user: DevUser): string | undefined {
  if (dialect?.kind !== 'entra' || !dialect.tenant) return undefined;
  if ((MULTI_TENANT as readonly string[]).includes(dialect.tenant.toLowerCase())) return undefined;
  if (dialect.tenant.toLowerCase() === user.tid.toLowerCase()) return undefined;
  return `AADSTS50020: User account '${user.username}' from identity provider does not exist in tenant '${dialect.tenant}'.`;
}

export function b2cForgotPassword(dialect: Dialect | undefined): Record<string, string> | undefined {
  if (dialect?.kind !== 'b2c') return undefined;
  return { error: 'access_denied', error_description: 'AADB2C90118: The user has forgotten their password.' };
}

export function b2cCancelled(dialect: Dialect | undefined): Record<string, string> | undefined {
  if (dialect?.kind !== 'b2c') return undefined;
  return { error: 'access_denied', error_description: 'AADB2C90091: The user has cancelled entering self-asserted information.' };
}
