import type { IncomingMessage, ServerResponse } from 'node:http';
import { compactVerify, createLocalJWKSet } from 'jose';
import { clearSessionCookie, currentSession } from './authorize';
import { readParams, redirect, sendHtml, withQuery } from './http';
import { frontChannelLogoutPage, signedOutPage } from './pages';
import { dialectOf } from './dialect';
import type { ProviderState } from './state';
import { randomId } from './store';

/** The client an id_token_hint was issued to, if we signed it; an expired hint still identifies the client. */
async function clientFromHint(state: ProviderState, hint: string | undefined): Promise<string | undefined> {
  if (!hint) return undefined;
  try {
    const { payload } = await compactVerify(hint, createLocalJWKSet(state.tokens.keys.jwks()), { algorithms: ['RS256'] });
    const claims = JSON.parse(new TextDecoder().decode(payload)) as { iss?: unknown; aud?: unknown };
    return claims.iss === state.issuer && typeof claims.aud === 'string' ? claims.aud : undefined;
  } catch {
    return undefined;
  }
}

/** GET|POST /logout (RP-initiated logout): ends the provider's session, then back to the app if it registered the URI. */
export async function handleLogout(state: ProviderState, req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
  const params = await readParams(req, url);
  const existing = currentSession(state, req);
  if (existing) state.sessions.delete(existing.id);
  const headers = { 'set-cookie': clearSessionCookie() };

  const clientId = params.get('client_id') ?? (await clientFromHint(state, params.get('id_token_hint')));
  const client = clientId ? state.clients.get(clientId) : undefined;
  const target = params.get('post_logout_redirect_uri');
  const next = client && target && (client.postLogoutRedirectUris ?? []).includes(target) ? withQuery(target, { state: params.get('state') }) : undefined;
  const nonce = randomId(16);
  const frames = existing ? frontChannelFrames(state, existing.session.sid, dialectOf(req, state.issuer).kind === 'oidc') : [];
  if (frames.length > 0) {
    const frameSources = [...new Set(frames.map((src) => new URL(src).origin))].join(' ');
    const csp = `default-src 'none'; style-src 'nonce-${nonce}'; script-src 'nonce-${nonce}'; frame-src ${frameSources}; frame-ancestors 'none'; base-uri 'none'`;
    sendHtml(res, 200, frontChannelLogoutPage(frames, next, nonce), nonce, { ...headers, 'content-security-policy': csp });
    return;
  }
  if (next) {
    redirect(res, next, headers);
    return;
  }
  sendHtml(res, 200, signedOutPage(nonce), nonce, headers);
}

/** Every app's front-channel logout URI for one provider session; Entra sends `sid` alone, a generic provider `iss` too. */
function frontChannelFrames(state: ProviderState, sid: string, withIssuer: boolean): string[] {
  return [...state.clients.values()]
    .filter((client) => client.frontchannelLogoutUri)
    .map((client) => withQuery(client.frontchannelLogoutUri!, withIssuer ? { iss: state.issuer, sid } : { sid }));
}
