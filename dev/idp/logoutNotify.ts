import type { IncomingMessage, ServerResponse } from 'node:http';
import { SignJWT, type JWTPayload } from 'jose';
import { clearSessionCookie, currentSession } from './authorize';
import { readParams, sendHtml } from './http';
import { signOutEverywherePage } from './pages';
import type { ProviderState } from './state';
import { randomId } from './store';

export const BACKCHANNEL_LOGOUT_EVENT = 'http://schemas.openid.net/event/backchannel-logout';
const LOGOUT_TOKEN_LIFETIME_SECONDS = 120;
const DELIVERY_TIMEOUT_MS = 10_000;

/** Signs any claims with the provider's current key: the dev provider's logout tokens, and tests' malformed ones. */
export async function signLogoutToken(state: ProviderState, claims: JWTPayload, header: { typ?: string | null; kid?: string } = {}): Promise<string> {
  const key = state.tokens.keys.current;
  const protectedHeader: { alg: string; kid: string; typ?: string } = { alg: 'RS256', kid: header.kid ?? key.kid };
  if (header.typ !== null) protectedHeader.typ = header.typ ?? 'logout+jwt';
  return new SignJWT(claims).setProtectedHeader(protectedHeader).sign(key.privateKey);
}

/** A Back-Channel Logout 1.0 logout token for one client. */
export function logoutTokenClaims(state: ProviderState, clientId: string, target: { sub?: string; sid?: string }): JWTPayload {
  const now = Math.floor(Date.now() / 1000);
  return {
    iss: state.issuer,
    aud: clientId,
    iat: now,
    exp: now + LOGOUT_TOKEN_LIFETIME_SECONDS,
    jti: randomId(16),
    events: { [BACKCHANNEL_LOGOUT_EVENT]: {} },
    ...(target.sub ? { sub: target.sub } : {}),
    ...(target.sid ? { sid: target.sid } : {}),
  };
}

/** Posts a logout token to every client that registered a back-channel logout URI; the statuses they answered. */
export async function sendBackchannelLogout(state: ProviderState, target: { sub?: string; sid?: string }): Promise<{ clientId: string; status: number }[]> {
  const results: { clientId: string; status: number }[] = [];
  for (const client of state.clients.values()) {
    if (!client.backchannelLogoutUri) continue;
    const token = await signLogoutToken(state, logoutTokenClaims(state, client.clientId, target));
    let status = 0;
    try {
      const response = await fetch(client.backchannelLogoutUri, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ logout_token: token }).toString(),
        signal: AbortSignal.timeout(DELIVERY_TIMEOUT_MS),
        redirect: 'manual',
      });
      status = response.status;
      await response.arrayBuffer();
    } catch {
      status = 0;
    }
    results.push({ clientId: client.clientId, status });
  }
  return results;
}

/** Ends every provider session of the user and tells every client over the back channel (sub only: all their sessions). */
export async function signOutEverywhere(state: ProviderState, sub: string): Promise<{ clientId: string; status: number }[]> {
  state.endSessionsOf(sub);
  return sendBackchannelLogout(state, { sub });
}

/** GET /logout/everywhere: a page with the button; POST: do it for the signed-in provider user. */
export async function handleSignOutEverywhere(state: ProviderState, req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
  const nonce = randomId(16);
  const current = currentSession(state, req);
  const user = current ? state.userBySub(current.session.sub) : undefined;
  if (req.method !== 'POST') {
    sendHtml(res, 200, signOutEverywherePage({ user: user?.name }, nonce), nonce);
    return;
  }
  await readParams(req, url);
  if (!current || !user) {
    sendHtml(res, 200, signOutEverywherePage({ user: undefined }, nonce), nonce);
    return;
  }
  const results = await signOutEverywhere(state, current.session.sub);
  sendHtml(res, 200, signOutEverywherePage({ user: user.name, notified: results.filter((r) => r.status === 200).length, failed: results.filter((r) => r.status !== 200).length }, nonce), nonce, {
    'set-cookie': clearSessionCookie(),
  });
}
