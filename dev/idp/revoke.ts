import type { IncomingMessage, ServerResponse } from 'node:http';
import { authenticateClient } from './clientAuth';
import { readParams, sendJson } from './http';
import type { ProviderState } from './state';

/**
 * POST /revoke (RFC 7009): the client authenticates as at the token endpoint; a refresh token it
 * was issued stops working. 200 for any token, known or not (section 2.2); an access token is a
 * JWT and cannot be revoked here, which the RFC allows.
 */
export async function handleRevoke(state: ProviderState, req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
  if (!state.revocation) {
    sendJson(res, 404, { error: 'not_found' });
    return;
  }
  const params = await readParams(req, url);
  let clientId: string;
  try {
    clientId = (await authenticateClient(state, req, params)).clientId;
  } catch {
    sendJson(res, 401, { error: 'invalid_client' });
    return;
  }
  const token = params.get('token');
  if (!token) {
    sendJson(res, 400, { error: 'invalid_request' });
    return;
  }
  const grant = state.refreshTokens.get(token);
  if (grant && grant.clientId === clientId) {
    grant.revoked = true;
  }
  res.writeHead(200, { 'cache-control': 'no-store', 'content-length': 0 }).end();
}
