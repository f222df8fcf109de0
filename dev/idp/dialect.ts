import type { IncomingMessage } from 'node:http';
import { DEV_TENANT_ID } from './users';

/**
 * The URL shapes of Microsoft's authorities, served beside the provider's plain OIDC paths so
 * the app meets them as it would in Azure:
 *
 * - Entra ID and External ID: `/{tenant}/v2.0/.well-known/openid-configuration`,
 *   `/{tenant}/oauth2/v2.0/{authorize,token,logout}`, `/{tenant}/discovery/v2.0/keys`. The
 *   tenant is a tenant id, `organizations` or `common`; tokens carry
 *   `iss = {origin}/{tid}/v2.0` for the user's tenant, and the multi-tenant documents publish
 *   the issuer with the `{tenantid}` placeholder, as Entra does.
 * - Azure AD B2C: `/{domain}/{policy}/v2.0/...` and `/{domain}/{policy}/oauth2/v2.0/...`;
 *   `iss = {origin}/{tenant id}/v2.0/` and the user flow in `tfp` and `acr`.
 */
export interface Dialect {
  readonly kind: 'oidc' | 'entra' | 'b2c';
  /** The authority these paths belong to, e.g. `https://127.0.0.1:1234/organizations`. */
  readonly authority: string;
  readonly tenant?: string;
  readonly policy?: string;
  /** The issuer of a token for a user (or app) of tenant `tid`. */
  issuerFor(tid: string): string;
  /** The discovery document's `issuer`. */
  readonly metadataIssuer: string;
  readonly endpoints: { authorize: string; token: string; logout: string; jwks: string };
}

export const MULTI_TENANT = ['organizations', 'common'] as const;

const SEGMENT = '([A-Za-z0-9][A-Za-z0-9._-]{0,127})';
const ENTRA_PATH = new RegExp(`^/${SEGMENT}(/v2\\.0/\\.well-known/openid-configuration|/oauth2/v2\\.0/(?:authorize|token|logout)|/discovery/v2\\.0/keys)$`);
const B2C_PATH = new RegExp(`^/${SEGMENT}/${SEGMENT}(/v2\\.0/\\.well-known/openid-configuration|/oauth2/v2\\.0/(?:authorize|token|logout)|/discovery/v2\\.0/keys)$`);
const TO_ROUTE: Record<string, string> = {
  '/v2.0/.well-known/openid-configuration': '/.well-known/openid-configuration',
  '/oauth2/v2.0/authorize': '/authorize',
  '/oauth2/v2.0/token': '/token',
  '/oauth2/v2.0/logout': '/logout',
  '/discovery/v2.0/keys': '/jwks',
};

function entraDialect(origin: string, tenant: string): Dialect {
  const authority = `${origin}/${tenant}`;
  const multi = (MULTI_TENANT as readonly string[]).includes(tenant.toLowerCase());
  return {
    kind: 'entra',
    authority,
    tenant,
    issuerFor: (tid) => `${origin}/${tid}/v2.0`,
    metadataIssuer: multi ? `${origin}/{tenantid}/v2.0` : `${origin}/${tenant}/v2.0`,
    endpoints: entraEndpoints(authority),
  };
}

function entraEndpoints(authority: string): Dialect['endpoints'] {
  return {
    authorize: `${authority}/oauth2/v2.0/authorize`,
    token: `${authority}/oauth2/v2.0/token`,
    logout: `${authority}/oauth2/v2.0/logout`,
    jwks: `${authority}/discovery/v2.0/keys`,
  };
}

function b2cDialect(origin: string, domain: string, policy: string): Dialect {
  const authority = `${origin}/${domain}/${policy}`;
  // B2C's issuer names the tenant id (with a trailing slash), whatever the domain in the path.
  const issuer = `${origin}/${DEV_TENANT_ID}/v2.0/`;
  return { kind: 'b2c', authority, tenant: domain, policy, issuerFor: () => issuer, metadataIssuer: issuer, endpoints: entraEndpoints(authority) };
}

export function oidcDialect(issuer: string): Dialect {
  return {
    kind: 'oidc',
    authority: issuer,
    issuerFor: () => issuer,
    metadataIssuer: issuer,
    endpoints: { authorize: `${issuer}/authorize`, token: `${issuer}/token`, logout: `${issuer}/logout`, jwks: `${issuer}/jwks` },
  };
}

/** The provider's own route for a request path, and the dialect it was asked in. */
export function parseDialect(origin: string, pathname: string): { route: string; dialect: Dialect } {
  const entra = ENTRA_PATH.exec(pathname);
  if (entra) return { route: TO_ROUTE[entra[2]!]!, dialect: entraDialect(origin, entra[1]!) };
  const b2c = B2C_PATH.exec(pathname);
  if (b2c && b2c[1] !== 'oauth2' && b2c[1] !== 'discovery') return { route: TO_ROUTE[b2c[3]!]!, dialect: b2cDialect(origin, b2c[1]!, b2c[2]!) };
  return { route: pathname, dialect: oidcDialect(origin) };
}

const dialects = new WeakMap<IncomingMessage, Dialect>();

export function setDialect(req: IncomingMessage, dialect: Dialect): void {
  dialects.set(req, dialect);
}

/** The dialect a request came in, for the endpoint handlers. */
export function dialectOf(req: IncomingMessage, issuer: string): Dialect {
  return dialects.get(req) ?? oidcDialect(issuer);
}
