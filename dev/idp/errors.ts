import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { sendJson } from './http';

/** An OAuth error answer of the token endpoint, shaped like Entra's so the app's handling can be exercised. */
export class OAuthError extends Error {
  constructor(
    readonly status: number,
    readonly error: string,
    readonly description: string,
    readonly suberror?: string,
    /** A claims challenge (JSON) the client must ask for interactively. */
    readonly claims?: string,
  ) {
    super(description);
  }
}

export const invalidRequest = (description: string): OAuthError => new OAuthError(400, 'invalid_request', description);
export const invalidGrant = (description: string, suberror?: string): OAuthError => new OAuthError(400, 'invalid_grant', description, suberror);
export const invalidClient = (description: string): OAuthError => new OAuthError(401, 'invalid_client', description);

export function sendOAuthError(res: ServerResponse, err: OAuthError): void {
  // Entra lists the AADSTS numbers in error_codes; MSAL and the app's retry logic read them.
  const code = /^AADSTS(\d+)/.exec(err.description)?.[1];
  const headers: Record<string, string> = err.status === 401 ? { 'www-authenticate': 'Basic realm="token"' } : {};
  sendJson(
    res,
    err.status,
    {
      error: err.error,
      error_description: err.description,
      error_codes: code ? [Number(code)] : [],
      ...(err.suberror ? { suberror: err.suberror } : {}),
      ...(err.claims ? { claims: err.claims } : {}),
      timestamp: new Date().toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z'),
      trace_id: randomUUID(),
      correlation_id: randomUUID(),
    },
    headers,
  );
}
