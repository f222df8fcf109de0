import type { Runtime } from '../runtime';
import { ProblemError } from '../problems';
import { refreshTokensIn, revokeRefreshTokens } from './revocation';
import { partitionKeyFor } from '../tokenCache/tableStore';
import { clearedSessionCookie, type Session } from '../session/session';
import type { ResponseCookie } from '../session/cookies';
import { authorityFor } from './authority';
import { logEvent } from '../log';

/**
 * Signs the session's account out: its cache row goes (so every copy of the cookie loses its
 * tokens), the cookie is cleared, and the browser goes on to the provider's end-session
 * endpoint, which comes back to the configured post-logout URL.
 */
export async function signOut(runtime: Runtime, session: Session | undefined): Promise<{ location: string; cookies: ResponseCookie[] }> {
  const { config } = runtime;
  const provider = await runtime.providers.get(authorityFor(config, session?.policy).url).catch((error: unknown) => {
    if (error instanceof ProblemError) return undefined;
    throw error;
  });
  if (session) {
    const partitionKey = partitionKeyFor(session.homeAccountId);
    // Only where the provider can revoke (RFC 7009) is the row read first, for its refresh token.
    const revocable = provider && typeof provider.metadata['revocation_endpoint'] === 'string';
    const row = revocable ? await runtime.tokenCache.read(partitionKey) : undefined;
    await runtime.tokenCache.delete(partitionKey);
    if (row && provider) {
      const credential = await runtime.credentials.get().catch(() => undefined);
      const statuses = credential ? await revokeRefreshTokens(provider, config.clientId, credential, refreshTokensIn(row.cache)) : [];
      logEvent('revocation', { outcome: statuses.every((s) => s === 200) ? 'success' : 'failed', count: statuses.length });
    }
  }
  logEvent('sign_out', { outcome: 'success', reason: session ? 'session' : 'no_session' });
  // A provider that could not be reached only skips its part: the local sign-out has happened.
  let location = config.postLogoutRedirectUri;
  const endSession = provider?.metadata.end_session_endpoint;
  if (endSession) {
    const url = new URL(endSession); // checked to be an http(s) URL when discovered
    url.searchParams.set('post_logout_redirect_uri', config.postLogoutRedirectUri);
    url.searchParams.set('client_id', config.clientId);
    const hint = session?.claims['login_hint'] ?? session?.claims['preferred_username'];
    if (typeof hint === 'string') url.searchParams.set('logout_hint', hint);
    location = url.href;
  }
  return { location, cookies: [clearedSessionCookie()] };
}
