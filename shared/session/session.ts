import { randomBytes } from 'node:crypto';
import type { CookieSealer } from './sealing';
import { AUTH_REQUEST_COOKIE, SESSION_COOKIE, expiredCookie, hostCookie, readCookie, type ResponseCookie } from './cookies';

/** Claims shown by /api/me: identity only, small enough for a cookie, never a token. */
export const SESSION_CLAIMS = ['sub', 'oid', 'tid', 'name', 'preferred_username', 'email', 'given_name', 'family_name', 'idp', 'iss'] as const;

export interface Session {
  /** Session id, new at every sign-in; `logoutUrl` carries it so a GET logout cannot be forged. */
  readonly sid: string;
  /** MSAL home account id: which token cache row belongs to this session. */
  readonly homeAccountId: string;
  readonly claims: Readonly<Record<string, string | number | boolean>>;
  /** Authority (B2C policy) the account signed in with. */
  readonly policy?: string;
  readonly iat: number;
  readonly exp: number;
}

/** What /api/login remembers until /api/redirect: never stored server-side. */
export interface AuthRequest {
  readonly state: string;
  readonly nonce: string;
  readonly codeVerifier: string;
  readonly returnUrl: string;
  readonly scopes: readonly string[];
  readonly policy?: string;
  /** A claims challenge this sign-in answers (JSON), sent with the code redemption too. */
  readonly claims?: string;
  readonly exp: number;
}

const SESSION_PURPOSE = 'session';
const AUTH_REQUEST_PURPOSE = 'authreq';
export const AUTH_REQUEST_LIFETIME_SECONDS = 10 * 60;

export function newSessionId(): string {
  return randomBytes(18).toString('base64url');
}

export function pickSessionClaims(claims: Readonly<Record<string, unknown>>): Record<string, string | number | boolean> {
  const picked: Record<string, string | number | boolean> = {};
  for (const name of SESSION_CLAIMS) {
    const value = claims[name];
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') picked[name] = value;
  }
  return picked;
}

export async function readSession(sealer: CookieSealer, cookieHeader: string | null): Promise<Session | undefined> {
  const session = await sealer.unseal<Session>(readCookie(cookieHeader, SESSION_COOKIE), SESSION_PURPOSE);
  if (!session || typeof session.sid !== 'string' || typeof session.homeAccountId !== 'string' || typeof session.exp !== 'number') return undefined;
  return session;
}

export async function sessionCookie(sealer: CookieSealer, session: Session): Promise<ResponseCookie> {
  const value = await sealer.seal(session, SESSION_PURPOSE);
  // Lax: the page after sign-in is reached through a cross-site navigation chain.
  return hostCookie(SESSION_COOKIE, value, Math.max(0, session.exp - Math.floor(Date.now() / 1000)), 'Lax');
}

export function clearedSessionCookie(): ResponseCookie {
  return expiredCookie(SESSION_COOKIE, 'Lax');
}

export async function readAuthRequest(sealer: CookieSealer, cookieHeader: string | null): Promise<AuthRequest | undefined> {
  const request = await sealer.unseal<AuthRequest>(readCookie(cookieHeader, AUTH_REQUEST_COOKIE), AUTH_REQUEST_PURPOSE);
  if (!request || typeof request.state !== 'string' || typeof request.codeVerifier !== 'string') return undefined;
  return request;
}

/**
 * SameSite=None: the provider answers with a cross-site form POST (form_post, the only response
 * mode the app asks for), which would withhold a Lax cookie.
 */
export async function authRequestCookie(sealer: CookieSealer, request: AuthRequest): Promise<ResponseCookie> {
  const value = await sealer.seal(request, AUTH_REQUEST_PURPOSE);
  return hostCookie(AUTH_REQUEST_COOKIE, value, AUTH_REQUEST_LIFETIME_SECONDS, 'None');
}

export function clearedAuthRequestCookie(): ResponseCookie {
  return expiredCookie(AUTH_REQUEST_COOKIE, 'None');
}
