import type * as MsalNode from '@azure/msal-node';
import { lazySdks } from '../lazySdks';

/**
 * @azure/msal-node, evaluated at its first use rather than with the app: a cold instance whose
 * first call is served from the cache row (shared/tokenCache/cachedAccessToken.ts) never pays
 * for it (shared/lazySdks.ts). Types come from `import type`; every value goes through here.
 */
export function msalNode(): typeof MsalNode {
  return lazySdks().msalNode;
}
