import type { DevApi } from './types';

export const OIDC_SCOPES: readonly string[] = ['openid', 'profile', 'email', 'offline_access'];

/** What a scope parameter names: the OIDC scopes, and the API scopes grouped by resource in request order. */
export interface ResolvedScopes {
  oidc: string[];
  resources: { api: DevApi; scopes: string[]; defaultScope: boolean }[];
}

export class ScopeError extends Error {
  constructor(
    readonly error: 'invalid_scope',
    readonly description: string,
  ) {
    super(description);
  }
}

export function splitScopes(scope: string | undefined | null): string[] {
  return [...new Set((scope ?? '').split(/\s+/).filter(Boolean))];
}

function findApi(apis: readonly DevApi[], scope: string): DevApi | undefined {
  return apis.find((api) => scope.startsWith(`${api.audience}/`));
}

export const GRAPH_AUDIENCE = 'https://graph.microsoft.com';

/** Unknown scopes are refused, as Entra does (AADSTS70011). A bare scope (`User.Read`) is Microsoft Graph's, as in Entra. */
export function resolveScopes(requested: readonly string[], apis: readonly DevApi[]): ResolvedScopes {
  const resolved: ResolvedScopes = { oidc: [], resources: [] };
  const hasGraph = apis.some((api) => api.audience === GRAPH_AUDIENCE);
  for (const given of requested) {
    if (OIDC_SCOPES.includes(given)) {
      resolved.oidc.push(given);
      continue;
    }
    const scope = hasGraph && !given.includes('/') ? `${GRAPH_AUDIENCE}/${given}` : given;
    const api = findApi(apis, scope);
    const isDefault = api !== undefined && scope === `${api.audience}/.default`;
    if (!api || (!isDefault && !api.scopes.includes(scope))) {
      throw new ScopeError('invalid_scope', `AADSTS70011: The provided value for the input parameter 'scope' is not valid. The scope ${scope} is not valid.`);
    }
    let entry = resolved.resources.find((resource) => resource.api === api);
    if (!entry) {
      entry = { api, scopes: [], defaultScope: false };
      resolved.resources.push(entry);
    }
    if (isDefault) entry.defaultScope = true;
    else entry.scopes.push(scope);
  }
  return resolved;
}

/** `api://demo-api/Data.Read` → `Data.Read`: the form access tokens carry in `scp`. */
export function shortScopeName(api: DevApi, scope: string): string {
  return scope.slice(api.audience.length + 1);
}
