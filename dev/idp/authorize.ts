import type { IncomingMessage, ServerResponse } from 'node:http';
import { readCookie, readParams, redirect, sendHtml, withQuery } from './http';
import { consentPage, errorPage, formPostPage, loginPage } from './pages';
import { ScopeError, resolveScopes, splitScopes } from './scopes';
import { CODE_LIFETIME_MS, SESSION_COOKIE, type ProviderState, type ResponseMode, type Session, type Transaction } from './state';
import { randomId, sameSecret } from './store';
import { findUser } from './users';
import type { DevUser } from './types';
import { dialectOf } from './dialect';
import { parseClaimsRequest } from './claimsRequest';
import { b2cCancelled, b2cForgotPassword, tenantRefusal } from './microsoftErrors';

const PROMPTS = ['none', 'login', 'consent', 'select_account'];

/** Where and how an authorization answer goes: only ever to a redirect URI registered for the client. */
interface ReplyTarget {
  redirectUri: string;
  responseMode: ResponseMode;
  state?: string;
}

/** An error the app should receive at its redirect URI (RFC 6749 4.1.2.1). */
class AuthorizeError extends Error {
  constructor(
    readonly error: string,
    readonly description: string,
  ) {
    super(description);
  }
}

function answer(res: ServerResponse, target: ReplyTarget, fields: Record<string, string | undefined>, headers: Record<string, string | string[]> = {}): void {
  const all = { ...fields, state: target.state };
  if (target.responseMode === 'form_post') {
    const nonce = randomId(16);
    sendHtml(res, 200, formPostPage(target.redirectUri, all, nonce), nonce, headers);
  } else {
    redirect(res, withQuery(target.redirectUri, all), headers);
  }
}

function showError(res: ServerResponse, status: number, title: string, message: string): void {
  const nonce = randomId(16);
  sendHtml(res, status, errorPage(title, message, nonce), nonce);
}

function sessionCookie(value: string, maxAgeSeconds: number): string {
  // SameSite=None: the provider is reached from the app's site, including cross-site POSTs to /logout.
  return `${SESSION_COOKIE}=${value}; Path=/; Secure; HttpOnly; SameSite=None; Max-Age=${maxAgeSeconds}`;
}

export function clearSessionCookie(): string {
  return sessionCookie('', 0);
}

export function currentSession(state: ProviderState, req: IncomingMessage): { id: string; session: Session } | undefined {
  const id = readCookie(req, SESSION_COOKIE);
  const session = id ? state.sessions.get(id) : undefined;
  return id && session ? { id, session } : undefined;
}

/** Validates everything after client and redirect URI; failures go back to the app. */
function validateRequest(state: ProviderState, params: Map<string, string>): Omit<Transaction, 'id' | 'clientId' | 'redirectUri' | 'responseMode' | 'state'> {
  if (params.get('response_type') !== 'code') {
    throw new AuthorizeError('unsupported_response_type', "AADSTS700054: Only response_type 'code' is supported.");
  }
  const scopes = splitScopes(params.get('scope'));
  if (!scopes.includes('openid')) throw new AuthorizeError('invalid_scope', "AADSTS70011: The 'openid' scope is required.");
  try {
    resolveScopes(scopes, state.apis);
  } catch (err) {
    if (err instanceof ScopeError) throw new AuthorizeError(err.error, err.description);
    throw err;
  }
  const codeChallenge = params.get('code_challenge');
  if (!codeChallenge) {
    throw new AuthorizeError('invalid_request', 'AADSTS9002325: Proof Key for Code Exchange is required: code_challenge is missing.');
  }
  if (params.get('code_challenge_method') !== 'S256') {
    throw new AuthorizeError('invalid_request', "AADSTS501491: code_challenge_method must be 'S256'.");
  }
  if (!/^[A-Za-z0-9_-]{43}$/.test(codeChallenge)) {
    throw new AuthorizeError('invalid_request', 'AADSTS501481: code_challenge is not a base64url SHA-256 digest.');
  }
  const nonce = params.get('nonce');
  if (!nonce) throw new AuthorizeError('invalid_request', "AADSTS900144: The request must contain the following parameter: 'nonce'.");
  if (!params.get('state')) throw new AuthorizeError('invalid_request', "AADSTS900144: The request must contain the following parameter: 'state'.");
  const prompt = params.get('prompt');
  if (prompt !== undefined && !PROMPTS.includes(prompt)) {
    throw new AuthorizeError('invalid_request', `AADSTS90023: Invalid prompt value '${prompt}'.`);
  }
  const acrs = parseClaimsRequest(params.get('claims')).acrs;
  return { nonce, codeChallenge, scopes, loginHint: params.get('login_hint') || undefined, prompt, ...(acrs.length > 0 ? { acrs } : {}) };
}

function consentGranted(state: ProviderState, transaction: Transaction, user: DevUser): boolean {
  if (transaction.prompt === 'consent') return false;
  if (!state.consentRequired) return true;
  const resolved = resolveScopes(transaction.scopes, state.apis);
  return resolved.resources.every((resource) => resource.scopes.every((scope) => state.hasConsent(transaction.clientId, user.sub, scope)));
}

/** Scopes asked for at sign-in count as granted; `.default` grants all of the API's scopes. */
function recordConsent(state: ProviderState, transaction: Transaction, user: DevUser): void {
  const resolved = resolveScopes(transaction.scopes, state.apis);
  for (const resource of resolved.resources) {
    state.grantConsent(transaction.clientId, user.sub, resource.defaultScope ? resource.api.scopes : resource.scopes);
  }
}

function issueCode(state: ProviderState, res: ServerResponse, transaction: Transaction, user: DevUser, session: Session, headers: Record<string, string | string[]>): void {
  recordConsent(state, transaction, user);
  const code = randomId(32);
  state.codes.set(code, {
    clientId: transaction.clientId,
    redirectUri: transaction.redirectUri,
    codeChallenge: transaction.codeChallenge,
    nonce: transaction.nonce,
    scopes: transaction.scopes,
    sub: user.sub,
    sid: session.sid,
    authTime: session.authTime,
    expiresAt: Date.now() + CODE_LIFETIME_MS,
    used: false,
    // The login page stands for the step-up the authentication context asks for.
    ...(transaction.acrs ? { acrs: transaction.acrs } : {}),
  });
  state.stats.issued.codes += 1;
  answer(res, transaction, { code }, headers);
}

function clientName(state: ProviderState, clientId: string): string {
  return state.clients.get(clientId)?.displayName ?? clientId;
}

function showLogin(state: ProviderState, res: ServerResponse, transaction: Transaction, username?: string, error?: string): void {
  const nonce = randomId(16);
  const model = {
    transactionId: transaction.id,
    clientName: clientName(state, transaction.clientId),
    scopes: transaction.scopes,
    username: username ?? transaction.loginHint,
    error,
    users: state.users,
    // Only B2C's user flows have the link, as only B2C answers it with AADB2C90118.
    forgotPassword: transaction.dialect?.kind === 'b2c',
  };
  sendHtml(res, 200, loginPage(model, nonce), nonce);
}

function showConsent(state: ProviderState, res: ServerResponse, transaction: Transaction, user: DevUser, headers: Record<string, string | string[]>): void {
  const nonce = randomId(16);
  const model = { transactionId: transaction.id, clientName: clientName(state, transaction.clientId), scopes: transaction.scopes, user };
  sendHtml(res, 200, consentPage(model, nonce), nonce, headers);
}

/**
 * The user is known: a code at once, or first the consent screen when the provider asks for
 * consent (DEV_IDP_CONSENT_REQUIRED) and the user has not granted every scope, or prompt=consent.
 */
function continueAs(state: ProviderState, res: ServerResponse, transaction: Transaction, user: DevUser, sessionId: string, session: Session, setCookie?: string): void {
  const headers: Record<string, string | string[]> = setCookie ? { 'set-cookie': setCookie } : {};
  if (consentGranted(state, transaction, user)) {
    issueCode(state, res, transaction, user, session, headers);
    return;
  }
  transaction.consent = { sub: user.sub, sessionId, session, setCookie };
  state.transactions.set(transaction.id, transaction);
  showConsent(state, res, transaction, user, headers);
}

/** POST /authorize/consent: Accept grants the scopes and answers with a code; Cancel answers access_denied. */
export async function handleConsent(state: ProviderState, req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
  const params = await readParams(req, url);
  const transactionId = params.get('transaction') ?? '';
  const transaction = state.transactions.get(transactionId);
  const pending = transaction?.consent;
  const user = pending ? state.userBySub(pending.sub) : undefined;
  // The consent belongs to the browser that signed in: its provider session cookie must match.
  if (!transaction || !pending || !user || currentSessionId(req) !== pending.sessionId) {
    showError(res, 400, 'Consent expired', 'This consent request has expired or was already answered. Start again from the application.');
    return;
  }
  state.transactions.delete(transactionId);
  if (params.has('cancel')) {
    answer(res, transaction, { error: 'access_denied', error_description: 'AADSTS65004: User declined to consent to access the app.' });
    return;
  }
  issueCode(state, res, transaction, user, pending.session, {});
}

function currentSessionId(req: IncomingMessage): string | undefined {
  return readCookie(req, SESSION_COOKIE);
}

/** GET|POST /authorize */
export async function handleAuthorize(state: ProviderState, req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
  const params = await readParams(req, url);
  const clientId = params.get('client_id');
  const client = clientId ? state.clients.get(clientId) : undefined;
  if (!client) {
    showError(res, 400, 'Unknown application', `AADSTS700016: Application with identifier '${clientId ?? ''}' was not found.`);
    return;
  }
  const redirectUri = params.get('redirect_uri');
  if (!redirectUri || !client.redirectUris.includes(redirectUri)) {
    // Never redirect to an unregistered URI: that is how codes leak to an attacker.
    showError(res, 400, 'Redirect URI mismatch', `AADSTS50011: The redirect URI '${redirectUri ?? ''}' does not match the redirect URIs configured for the application.`);
    return;
  }
  const mode = params.get('response_mode') ?? 'query';
  const target: ReplyTarget = { redirectUri, responseMode: mode === 'form_post' ? 'form_post' : 'query', state: params.get('state') };
  try {
    if (mode !== 'query' && mode !== 'form_post') {
      throw new AuthorizeError('invalid_request', `AADSTS900350: response_mode '${mode}' is not supported.`);
    }
    const validated = validateRequest(state, params);
    const transaction: Transaction = { id: randomId(24), clientId: client.clientId, ...target, ...validated, dialect: dialectOf(req, state.issuer) };
    const prompt = params.get('prompt');
    const existing = currentSession(state, req);
    const user = existing ? state.userBySub(existing.session.sub) : undefined;
    const hintMatches = !transaction.loginHint || user?.username.toLowerCase() === transaction.loginHint.toLowerCase();
    const reuse = existing && user && hintMatches && (prompt === undefined || prompt === 'none' || prompt === 'consent') && !tenantRefusal(transaction.dialect, user) && !transaction.acrs;

    if (prompt === 'none') {
      if (!reuse) throw new AuthorizeError('login_required', 'AADSTS50058: A silent sign-in request was sent but no user is signed in.');
      if (!consentGranted(state, transaction, user)) {
        throw new AuthorizeError('consent_required', `AADSTS65001: The user or administrator has not consented to use the application with ID '${client.clientId}'.`);
      }
    }
    if (reuse) {
      continueAs(state, res, transaction, user, existing.id, existing.session);
      return;
    }
    state.transactions.set(transaction.id, transaction);
    showLogin(state, res, transaction);
  } catch (err) {
    if (!(err instanceof AuthorizeError)) throw err;
    answer(res, target, { error: err.error, error_description: err.description });
  }
}

/** POST /authorize/login: the login form. */
export async function handleLogin(state: ProviderState, req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
  if (req.method !== 'POST') {
    showError(res, 405, 'Method not allowed', 'Sign in from the application.');
    return;
  }
  const params = await readParams(req, url);
  const transactionId = params.get('transaction') ?? '';
  const transaction = state.transactions.get(transactionId);
  if (!transaction) {
    showError(res, 400, 'Sign-in expired', 'This sign-in request has expired or was already completed. Start again from the application.');
    return;
  }
  if (params.has('cancel')) {
    state.transactions.delete(transactionId);
    answer(res, transaction, b2cCancelled(transaction.dialect) ?? { error: 'access_denied', error_description: 'AADSTS65004: User declined to consent to access the app.' });
    return;
  }
  const forgot = params.has('forgot') ? b2cForgotPassword(transaction.dialect) : undefined;
  if (forgot) {
    state.transactions.delete(transactionId);
    answer(res, transaction, forgot);
    return;
  }
  const username = params.get('username') ?? '';
  const user = findUser(state.users, username);
  if (!user || !sameSecret(params.get('password') ?? '', user.password)) {
    showLogin(state, res, transaction, username, 'Your username or password is incorrect.');
    return;
  }
  const refusal = tenantRefusal(transaction.dialect, user);
  if (refusal) {
    showLogin(state, res, transaction, username, refusal);
    return;
  }
  state.transactions.delete(transactionId);
  const sessionId = randomId(32);
  const session: Session = { sub: user.sub, sid: randomId(16), authTime: Math.floor(Date.now() / 1000) };
  state.sessions.set(sessionId, session);
  continueAs(state, res, transaction, user, sessionId, session, sessionCookie(sessionId, 8 * 60 * 60));
}
