import type * as MsalNode from '@azure/msal-node';

/**
 * @azure/msal-node, evaluated at its first use rather than with the app: a cold instance whose
 * first call is served from the cache row (shared/tokenCache/cachedAccessToken.ts) never pays
 * for it. Types come from `import type`; every value goes through here.
 */
export function msalNode(): typeof MsalNode {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require('@azure/msal-node') as typeof MsalNode;
}
