import type { AccessToken, TokenCredential } from '@azure/core-auth';
import { describeForLog } from '../errors';
import { problems, type ProblemError } from '../problems';
import { MANAGED_IDENTITY_TIMEOUT_MS } from '../deadline';
import type { AzureCredentialFactory } from './azureIdentity';
import { sourceSettingPrefix, type CredentialLoader } from './clientCredential';

/** The audience Entra expects of a federated credential's token (the managed identity's). */
export const TOKEN_EXCHANGE_SCOPE = 'api://AzureADTokenExchange/.default';
/** A cached token is replaced this long before it expires (or halfway through a shorter life). */
const REFRESH_MARGIN_MS = 5 * 60 * 1000;

interface CachedToken {
  readonly token: string;
  readonly refreshAt: number;
}

function refreshTime(token: AccessToken, fetchedAt: number): number {
  const margin = Math.min(REFRESH_MARGIN_MS, (token.expiresOnTimestamp - fetchedAt) / 2);
  return Math.min(token.expiresOnTimestamp - margin, token.refreshAfterTimestamp ?? Number.POSITIVE_INFINITY);
}

/**
 * MSAL's `clientAssertion` callback for a federated credential: the managed identity's token
 * for `api://AzureADTokenExchange`, kept in memory until shortly before it expires (MSAL calls
 * the callback on every request, cache hits included). Concurrent callers share one fetch.
 */
export function managedIdentityAssertion(credential: TokenCredential, failure: (error: unknown) => ProblemError): () => Promise<string> {
  let cached: CachedToken | undefined;
  let fetching: Promise<CachedToken> | undefined;

  const fetchToken = async (): Promise<CachedToken> => {
    const fetchedAt = Date.now();
    let token: AccessToken | null;
    try {
      // Its own timeout only: this fetch is shared by every waiting request, whatever their deadlines.
      token = await credential.getToken(TOKEN_EXCHANGE_SCOPE, { abortSignal: AbortSignal.timeout(MANAGED_IDENTITY_TIMEOUT_MS * 3), requestOptions: { timeout: MANAGED_IDENTITY_TIMEOUT_MS } });
    } catch (error) {
      throw failure(error);
    }
    if (!token?.token) throw failure(new Error('no token'));
    return { token: token.token, refreshAt: refreshTime(token, fetchedAt) };
  };

  return async () => {
    if (cached && Date.now() < cached.refreshAt) return cached.token;
    fetching ??= fetchToken().finally(() => {
      fetching = undefined;
    });
    cached = await fetching;
    return cached.token;
  };
}

/**
 * SourceType SignedAssertionFromManagedIdentity: no secret at all. The first token is fetched
 * now, so a missing identity fails here (and the next source may load) rather than at sign-in.
 */
export function managedIdentityCredentialLoader(credentialFor: AzureCredentialFactory): CredentialLoader {
  return async (source) => {
    if (source.sourceType !== 'SignedAssertionFromManagedIdentity') throw new Error('not a managed identity source');
    const clientId = source.managedIdentityClientId;
    const setting = `${sourceSettingPrefix(source)}${clientId ? 'ManagedIdentityClientId' : 'SourceType'}`;
    const identity = clientId ? `user-assigned managed identity ${clientId}` : 'system-assigned managed identity';
    const failure = (error: unknown) =>
      error instanceof Error && (error.name === 'AbortError' || error.name === 'TimeoutError')
        ? problems.managed_identity_timeout(`${setting}: the ${identity} did not answer within ${MANAGED_IDENTITY_TIMEOUT_MS / 1000} s.`)
        : problems.managed_identity_unavailable(`${setting}: the ${identity} gave no token for ${TOKEN_EXCHANGE_SCOPE} (${describeForLog(error)}).`);
    const assertion = managedIdentityAssertion(credentialFor(clientId), failure);
    await assertion();
    return { credential: { clientAssertion: assertion }, description: `SignedAssertionFromManagedIdentity, ${identity}` };
  };
}
