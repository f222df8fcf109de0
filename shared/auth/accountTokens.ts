import type { AccountInfo } from '@azure/msal-node';
import type { Runtime } from '../runtime';
import type { Session } from '../session/session';
import { ProblemError, signInRequired } from '../problems';
import { AccountCachePlugin } from '../tokenCache/accountCachePlugin';
import { partitionKeyFor, type CacheRow } from '../tokenCache/tableStore';
import { authorityFor } from './authority';
import { createConfidentialClient, networkFailure } from './msalClient';
import { codeRedemptionProblem, isInteractionRequired } from './msalErrors';
import { withCredentialRetry } from './credentialRetry';
import { loginUrlWithClaims, parseClaimsRequest } from './claimsChallenge';
import { logEvent, noteTokenOutcome } from '../log';

export interface AccessTokenOutcome {
  readonly accessToken: string;
  /** Whether the token came from the provider (a refresh) rather than the cache row. */
  readonly refreshed: boolean;
}

/**
 * The session account's access token for `scopes`: one Table point read, then MSAL from
 * memory; when the token has expired MSAL redeems the refresh token and the plugin writes the
 * row back (If-Match). No provider call and no Key Vault call while the token is valid.
 */
export async function acquireAccessTokenForSession(runtime: Runtime, session: Session, scopes: readonly string[], loginUrl: string, preloaded?: CacheRow, claims?: string): Promise<AccessTokenOutcome> {
  const authority = authorityFor(runtime.config, session.policy);
  const provider = await runtime.providers.get(authority.url);
  let firstRow = preloaded;

  return withCredentialRetry(runtime, async (credential) => {
    // A plugin per attempt: it reads the row once per client, and a retry (after a credential
    // reload) is a new client that reads again. The first may start from the row the session check read.
    const plugin = new AccountCachePlugin(runtime.tokenCache, partitionKeyFor(session.homeAccountId), () => new Date(Date.now() + runtime.config.session.idleTimeoutSeconds * 1000), firstRow, runtime.log);
    firstRow = undefined;
    const client = createConfidentialClient(runtime.config, authority.url, provider, credential, plugin);
    const account: AccountInfo | null = await client.getTokenCache().getAccountByHomeId(session.homeAccountId);
    if (!account) throw signInRequired('session_ended', loginUrl, 'The account\'s tokens are gone (signed out or expired).');
    try {
      // With claims MSAL skips the cached access token and redeems the refresh token with them.
      const result = await client.acquireTokenSilent({ account, scopes: [...scopes], ...(claims ? { claims } : {}) });
      if (!result?.accessToken) throw signInRequired('interaction_required', loginUrl);
      noteTokenOutcome(result.fromCache ? 'cache' : 'refreshed');
      if (!result.fromCache) logEvent('refresh', { outcome: 'success' });
      return { accessToken: result.accessToken, refreshed: !result.fromCache };
    } catch (error) {
      const failure = networkFailure(client);
      if (failure) throw failure;
      if (error instanceof ProblemError) {
        if (error.code === 'session_ended') throw signInRequired(error.code, loginUrl, error.detail);
        throw error;
      }
      if (isInteractionRequired(error)) {
        noteTokenOutcome('interaction_required');
        logEvent('consent_required', { code: msalErrorCode(error) });
        // The token endpoint's own claims challenge wins over the one being answered.
        throw signInRequired('interaction_required', loginUrlWithClaims(loginUrl, claimsOfError(error) ?? claims));
      }
      const mapped = codeRedemptionProblem(error);
      if (mapped.code === 'code_rejected') {
        noteTokenOutcome('interaction_required');
        logEvent('refresh', { outcome: 'failed', code: msalErrorCode(error) });
        throw signInRequired('interaction_required', loginUrl);
      }
      logEvent('refresh', { outcome: 'failed', code: mapped.code });
      throw mapped;
    }
  });
}

/** A claims challenge the token endpoint sent with its refusal (MSAL keeps it on the error). */
function claimsOfError(error: unknown): string | undefined {
  const claims = (error as { claims?: unknown } | null)?.claims;
  if (typeof claims !== 'string' || claims === '') return undefined;
  try {
    return parseClaimsRequest(claims);
  } catch {
    return undefined;
  }
}

/** MSAL's error code (`invalid_grant`, `consent_required`): an identifier, never its message. */
function msalErrorCode(error: unknown): string | undefined {
  const code = (error as { errorCode?: unknown } | null)?.errorCode;
  return typeof code === 'string' && /^[a-z_]{1,64}$/.test(code) ? code : undefined;
}
