import type { ConfidentialClientApplication } from '@azure/msal-node';
import type { Runtime } from '../runtime';
import type { MsalClientCredential } from '../credentials/clientCredential';
import { createConfidentialClient, networkFailure } from './msalClient';
import { withCredentialRetry } from './credentialRetry';
import { codeRedemptionProblem } from './msalErrors';
import { problems } from '../problems';
import { noteTokenOutcome } from '../log';

/**
 * App-identity tokens (client credentials). They belong to no user, so one client per process
 * and credential may keep them in memory: MSAL answers from there until they near expiry.
 */
const clients = new WeakMap<Runtime, { credential: MsalClientCredential; client: ConfidentialClientApplication }>();

export async function acquireAppToken(runtime: Runtime, scopes: readonly string[]): Promise<string> {
  const provider = await runtime.providers.get();
  return withCredentialRetry(runtime, async (credential) => {
    let entry = clients.get(runtime);
    if (!entry || entry.credential !== credential) {
      entry = { credential, client: createConfidentialClient(runtime.config, runtime.config.authority.url, provider, credential) };
      clients.set(runtime, entry);
    }
    try {
      const result = await entry.client.acquireTokenByClientCredential({ scopes: [...scopes] });
      if (!result?.accessToken) throw problems.provider_unavailable('The provider returned no access token.');
      noteTokenOutcome('app_token');
      return result.accessToken;
    } catch (error) {
      throw networkFailure(entry.client) ?? codeRedemptionProblem(error);
    }
  });
}
