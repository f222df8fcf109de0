import { join } from 'node:path';
import type * as MsalNode from '@azure/msal-node';
import type * as AzureIdentity from '@azure/identity';
import type * as KeyVaultSecrets from '@azure/keyvault-secrets';
import type * as Bundle from './lazySdksBundle';

/**
 * The SDKs a call loads only when it needs them: MSAL (a sign-in, a refresh; a valid token is
 * taken from the row without it), `@azure/identity` (an identity-based connection, Key Vault) and
 * the Key Vault SDK. Each is evaluated at its first use; in the deployment they are also a bundle
 * of their own (sdks.js beside the handlers, built from shared/lazySdksBundle.ts), so a cold
 * start's first call neither reads nor compiles them. Types come from `import type`; every value
 * goes through here.
 */
export interface LazySdks {
  readonly msalNode: typeof MsalNode;
  readonly azureIdentity: typeof AzureIdentity;
  readonly keyVaultSecrets: typeof KeyVaultSecrets;
}

// Set by scripts/build.mjs for the deployment's handlers bundle.
declare const SDKS_BUNDLE: string | undefined;

/* eslint-disable @typescript-eslint/no-require-imports */
export function lazySdks(): LazySdks {
  // From source and in the local bundles, shared/lazySdksBundle.ts itself: one list of the SDKs.
  return (typeof SDKS_BUNDLE === 'string' ? (require(join(__dirname, SDKS_BUNDLE)) as typeof Bundle) : (require('./lazySdksBundle') as typeof Bundle)).lazySdks;
}
