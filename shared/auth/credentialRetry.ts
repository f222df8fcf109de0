import type { Runtime } from '../runtime';
import type { MsalClientCredential } from '../credentials/clientCredential';
import { ProblemError } from '../problems';
import { isClientCredentialRejected } from './msalErrors';
import { logEvent } from '../log';

function rejected(error: unknown): boolean {
  return isClientCredentialRejected(error) || (error instanceof ProblemError && error.code === 'client_credential_rejected');
}

/**
 * Runs a provider call with the cached client credential. When the provider refuses the
 * credential (rotated secret, renewed certificate), the credential is reloaded once, shared
 * by concurrent callers, and the call tried once more, as Microsoft.Identity.Web does.
 */
export async function withCredentialRetry<T>(runtime: Runtime, call: (credential: MsalClientCredential) => Promise<T>): Promise<T> {
  const first = runtime.credentials.get();
  try {
    return await call(await first);
  } catch (error) {
    if (!rejected(error)) throw error;
    runtime.log('the provider refused the client credential: reloading it once');
    logEvent('credential_reload', { reason: 'credential_rejected' });
    const reloaded = await runtime.credentials.reload(first);
    return await call(reloaded);
  }
}
