import { createHash } from 'node:crypto';
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
import { claimsOfError, loginUrlWithClaims } from './claimsChallenge';
import { logEvent, noteTokenOutcome } from '../log';
import { refreshLeaseHook, type LeaseState } from './refreshLease';
import { cachedAccessToken, learnTokenLocation } from '../tokenCache/cachedAccessToken';
import { SingleFlight } from '../singleFlight';
import { outsideDeadline } from '../deadline';

/**
 * A second acquisition, after the API refused the first token: with the claims its challenge
 * asks for, or past the token it refused (revoked, keys rolled).
 */
export type Reacquire = { readonly claims: string } | { readonly rejectedToken: string };

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
export function acquireAccessTokenForSession(runtime: Runtime, session: Session, scopes: readonly string[], loginUrl: string, preloaded?: CacheRow, again?: Reacquire): Promise<AccessTokenOutcome> {
  // The hot path: a valid token in the row just read is taken without building an MSAL client
  // (never for a second acquisition: that one is MSAL's, with claims or past a refused token).
  if (preloaded && again === undefined) {
    const accessToken = cachedAccessToken(preloaded, tokenQuery(runtime, session, scopes));
    if (accessToken) {
      noteTokenOutcome('cache');
      return Promise.resolve({ accessToken, refreshed: false });
    }
  }
  // One acquisition per account and resource at a time in this process: concurrent callers share
  // it (and its refresh). Sharing is safe: the row is the account's, whichever session asks.
  // Callers past the same refused token share one forced refresh.
  const claims = again && 'claims' in again ? again.claims : undefined;
  const rejectedToken = again && 'rejectedToken' in again ? again.rejectedToken : undefined;
  const key = `${partitionKeyFor(session.homeAccountId)}\n${[...scopes].sort().join(' ')}\n${claims ?? ''}\n${rejectedToken ? fingerprint(rejectedToken) : ''}`;
  // A shared failure keeps the loginUrl it was raised with (it may carry a claims challenge).
  return acquisitions.run(runtime, key, () => acquireWithLease(runtime, session, scopes, loginUrl, preloaded, claims, rejectedToken));
}

function tokenQuery(runtime: Runtime, session: Session, scopes: readonly string[]) {
  return { partitionKey: partitionKeyFor(session.homeAccountId), homeAccountId: session.homeAccountId, clientId: runtime.config.clientId, authorityUrl: authorityFor(runtime.config, session.policy).url, scopes };
}

const acquisitions = new SingleFlight<Runtime, AccessTokenOutcome>();
/** Rounds of "another instance refreshed: read its row": bounded, each waits at most one lease. */
const MAX_LEASE_ROUNDS = 3;

async function acquireWithLease(runtime: Runtime, session: Session, scopes: readonly string[], loginUrl: string, preloaded: CacheRow | undefined, claims: string | undefined, rejectedToken: string | undefined): Promise<AccessTokenOutcome> {
  const partitionKey = partitionKeyFor(session.homeAccountId);
  let row = preloaded;
  for (let round = 1; ; round++) {
    const state: LeaseState = {};
    try {
      return await acquireOnce(runtime, session, scopes, loginUrl, row, state, claims, rejectedToken);
    } catch (error) {
      if (!state.refreshedElsewhere || round >= MAX_LEASE_ROUNDS) throw error;
      row = undefined; // read the row the winner wrote
    } finally {
      // Released even when the request's deadline cut the refresh: others would wait for it to run out.
      const lease = state.lease;
      if (lease) await outsideDeadline(() => runtime.tokenCache.releaseRefreshLease(partitionKey, lease)).catch(() => undefined);
    }
  }
}

async function acquireOnce(runtime: Runtime, session: Session, scopes: readonly string[], loginUrl: string, preloaded: CacheRow | undefined, state: LeaseState, claims: string | undefined, rejectedToken: string | undefined): Promise<AccessTokenOutcome> {
  const authority = authorityFor(runtime.config, session.policy);
  const provider = await runtime.providers.get(authority.url);
  const partitionKey = partitionKeyFor(session.homeAccountId);
  let firstRow = preloaded;

  return withCredentialRetry(runtime, async (credential) => {
    // A plugin per attempt: it reads the row once per client, and a retry (after a credential
    // reload) is a new client that reads again. The first may start from the row the session check read.
    // Stryker disable next-line ArithmeticOperator: the plugin writes only over a row it read (If-Match), and such a write keeps the row's expiry
    const plugin = new AccountCachePlugin(runtime.tokenCache, partitionKey, () => new Date(Date.now() + runtime.config.session.idleTimeoutSeconds * 1000), firstRow, runtime.log);
    firstRow = undefined;
    const client = createConfidentialClient(runtime.config, authority.url, provider, credential, plugin, refreshLeaseHook(runtime.tokenCache, partitionKey, state));
    const account: AccountInfo | null = await client.getTokenCache().getAccountByHomeId(session.homeAccountId);
    if (!account) throw signInRequired('session_ended', loginUrl, 'The account\'s tokens are gone (signed out or expired).');
    try {
      // With claims MSAL skips the cached access token and redeems the refresh token with them.
      const request = { account, scopes: [...scopes], ...(claims ? { claims } : {}) };
      let result = await client.acquireTokenSilent(request);
      // The API refused this very token, still valid by the cache: redeem the refresh token once.
      // A token another caller or instance has already replaced is used as it is.
      if (rejectedToken !== undefined && result?.accessToken === rejectedToken) result = await client.acquireTokenSilent({ ...request, forceRefresh: true });
      if (!result?.accessToken) throw signInRequired('interaction_required', loginUrl);
      noteTokenOutcome(result.fromCache ? 'cache' : 'refreshed');
      if (!claims) learnTokenLocation(plugin.latestCache, result.accessToken, tokenQuery(runtime, session, scopes));
      if (!result.fromCache) logEvent('refresh', { outcome: 'success' });
      return { accessToken: result.accessToken, refreshed: !result.fromCache };
    } catch (error) {
      if (state.refreshedElsewhere) throw error;
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

/** MSAL's error code (`invalid_grant`, `consent_required`): an identifier, never its message. */
function msalErrorCode(error: unknown): string | undefined {
  const code = (error as { errorCode?: unknown } | null)?.errorCode;
  return typeof code === 'string' && /^[a-z_]{1,64}$/.test(code) ? code : undefined;
}


/** Tells refused tokens apart in the in-flight map without keeping the token as a key. */
function fingerprint(token: string): string {
  return createHash('sha256').update(token).digest('base64url');
}
