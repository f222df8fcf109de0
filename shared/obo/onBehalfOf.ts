import { createHash } from 'node:crypto';
import type { ConfidentialClientApplication, InteractionRequiredAuthError, ServerError } from '@azure/msal-node';
import type { AppConfig } from '../config';
import type { Runtime } from '../runtime';
import { ProblemError, problems } from '../problems';
import { createConfidentialClient, networkFailure } from '../auth/msalClient';
import { withCredentialRetry } from '../auth/credentialRetry';
import { codeRedemptionProblem, isInteractionRequired, safeCode } from '../auth/msalErrors';
import { claimsOfError } from '../auth/claimsChallenge';
import { checkCacheShape } from '../tokenCache/cacheShape';
import { mergeSerializedCaches } from '../tokenCache/merge';
import type { CacheRow } from '../tokenCache/tableStore';
import { logEvent, noteTokenOutcome } from '../log';
import type { BearerCaller } from './bearerToken';
import { SingleFlight } from '../singleFlight';

/**
 * The on-behalf-of exchange (OAuth 2.0 JWT bearer grant, `requested_token_use=on_behalf_of`)
 * with its result kept in Table Storage, one row per incoming token: the partition key is a
 * hash of the assertion, as msal-node and MSAL.NET key plain OBO tokens (`userAssertionHash`).
 * A token for another user, or a newer token of the same user, never finds the row; the row
 * expires with the incoming token, so the purge timer removes it; it is sealed like the
 * account rows (the cipher binds it to its key). Repeated calls with the same token cost one
 * Table read and no provider call while the exchanged token is valid.
 */
const PARTITION_PREFIX = 'obo-';
const MAX_WRITE_ATTEMPTS = 3;

export function oboPartitionKey(assertion: string): string {
  return `${PARTITION_PREFIX}${createHash('sha256').update(assertion, 'utf8').digest('base64url')}`;
}

export interface OboOutcome {
  readonly accessToken: string;
  /** Whether the provider was asked (an exchange) rather than the row. */
  readonly exchanged: boolean;
}

/** Concurrent calls with one token and one API share one read and one exchange within an instance. */
const exchanges = new SingleFlight<Runtime, OboOutcome>();

export function acquireTokenOnBehalfOf(runtime: Runtime, caller: BearerCaller, scopes: readonly string[]): Promise<OboOutcome> {
  const partitionKey = oboPartitionKey(caller.assertion);
  const key = `${partitionKey}\n${[...scopes].sort().join(' ')}`;
  return exchanges.run(runtime, key, () => exchange(runtime, caller, partitionKey, scopes));
}

/**
 * Entra's multi-tenant authorities (`organizations`, `common`) cannot do on-behalf-of: the
 * exchange goes to the caller's own tenant, as Microsoft.Identity.Web does.
 */
export function oboAuthorityUrl(config: AppConfig, tid: unknown): string {
  const url = config.authority.url;
  if (config.authority.kind !== 'entra' || typeof tid !== 'string' || !/^[0-9a-f-]{36}$/i.test(tid)) return url;
  return url.replace(/\/(organizations|common)$/i, `/${tid}`);
}

async function exchange(runtime: Runtime, caller: BearerCaller, partitionKey: string, scopes: readonly string[]): Promise<OboOutcome> {
  const authorityUrl = oboAuthorityUrl(runtime.config, caller.claims.tid);
  const provider = await runtime.providers.get(authorityUrl);
  const row = await runtime.tokenCache.read(partitionKey);
  return withCredentialRetry(runtime, async (credential) => {
    const client = createConfidentialClient(runtime.config, authorityUrl, provider, credential);
    // MSAL looks for the OBO token in memory only (no cache plugin read on this path): load the row first.
    if (row && checkCacheShape(row.cache).usable) {
      try {
        client.getTokenCache().deserialize(row.cache);
      } catch {
        // An unreadable row is exchanged again and written over.
      }
    }
    let result;
    try {
      result = await client.acquireTokenOnBehalfOf({ oboAssertion: caller.assertion, scopes: [...scopes] });
    } catch (error) {
      throw exchangeProblem(error, client);
    }
    if (!result?.accessToken) throw problems.obo_exchange_refused('The provider returned no access token.');
    if (result.fromCache) {
      noteTokenOutcome('cache');
      return { accessToken: result.accessToken, exchanged: false };
    }
    noteTokenOutcome('on_behalf_of');
    await writeRow(runtime, partitionKey, row, client.getTokenCache().serialize(), caller.expiresAt);
    return { accessToken: result.accessToken, exchanged: true };
  });
}

/** Insert, or over the version read (If-Match); a concurrent writer's entries are merged in, never lost. */
async function writeRow(runtime: Runtime, partitionKey: string, read: CacheRow | undefined, serialized: string, expiresAt: Date): Promise<void> {
  let base = read?.cache;
  let etag = read?.etag;
  let ours = serialized;
  for (let attempt = 1; attempt <= MAX_WRITE_ATTEMPTS; attempt++) {
    const result = await runtime.tokenCache.writeIfUnchanged(partitionKey, ours, expiresAt, etag);
    if (result.kind === 'written') return;
    logEvent('cache_conflict', { reason: 'on_behalf_of' });
    const theirs = await runtime.tokenCache.read(partitionKey);
    if (theirs && checkCacheShape(theirs.cache).usable) ours = mergeSerializedCaches(base, ours, theirs.cache);
    base = theirs?.cache;
    etag = theirs?.etag;
  }
  // The token is good: the next call with this token exchanges again rather than failing this one.
  logEvent('cache_conflict', { outcome: 'failed', reason: 'on_behalf_of' });
}


function isConsentError(error: InteractionRequiredAuthError | ServerError): boolean {
  return error.errorCode === 'consent_required' || error.subError === 'consent_required' || /AADSTS65001\b/.test(error.errorMessage ?? '');
}

/**
 * The provider's refusal as the caller of a protected web API needs it: a claims challenge it
 * can answer (401 `insufficient_claims` with the claims, as Microsoft.Identity.Web replies),
 * consent to give (401 `interaction_required`), or a token to replace (401 `invalid_token`).
 */
export function exchangeProblem(error: unknown, client: ConfidentialClientApplication): ProblemError {
  const failure = networkFailure(client);
  if (failure) return failure;
  if (error instanceof ProblemError) return error;
  if (isInteractionRequired(error)) {
    const code = safeCode((error as ServerError).errorCode);
    const claims = claimsOfError(error);
    if (claims || code !== 'invalid_grant' || isConsentError(error as ServerError)) logEvent('consent_required', { code, reason: 'on_behalf_of' });
    if (claims) {
      const encoded = Buffer.from(claims, 'utf8').toString('base64');
      return problems
        .interaction_required('The downstream API needs more claims (Conditional Access): get a token with these claims and call again.', { claims })
        .withChallenge(`Bearer error="insufficient_claims", error_description="The token needs more claims.", claims="${encoded}"`);
    }
    if (isConsentError(error as ServerError)) {
      return problems
        .interaction_required('The user has not consented to this app calling the downstream API for them: sign the user in with consent (or grant admin consent), then call again.')
        .withChallenge('Bearer error="interaction_required", error_description="consent_required"');
    }
    if (code === 'invalid_grant') {
      return problems.bearer_token_invalid('The provider refused the token for the on-behalf-of exchange. Get a new token for this API.').withChallenge('Bearer error="invalid_token", error_description="The provider refused the token."');
    }
    return problems.interaction_required('The user must sign in again before this app may act for them.').withChallenge(`Bearer error="interaction_required", error_description="${code}"`);
  }
  const mapped = codeRedemptionProblem(error);
  if (mapped.code === 'code_rejected') return problems.obo_exchange_refused(`Provider error: ${safeCode((error as ServerError).errorCode)}.`);
  return mapped;
}
