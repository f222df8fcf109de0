import type { LazySdks } from './lazySdks';

/** The deployment's sdks.js (scripts/build.mjs): the SDKs of shared/lazySdks.ts, each still evaluated at its first use. */
/* eslint-disable @typescript-eslint/no-require-imports */
export const lazySdks: LazySdks = {
  get msalNode() {
    return require('@azure/msal-node') as LazySdks['msalNode'];
  },
  get azureIdentity() {
    return require('@azure/identity') as LazySdks['azureIdentity'];
  },
  get keyVaultSecrets() {
    return require('@azure/keyvault-secrets') as LazySdks['keyVaultSecrets'];
  },
};
