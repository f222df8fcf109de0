/** Helpers that walk the dev provider's browser flow with plain fetch (no redirects followed). */
import { createHash, randomBytes } from 'node:crypto';

export interface Pkce {
  verifier: string;
  challenge: string;
}

export function pkce(): Pkce {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

export interface AuthorizeParams {
  clientId: string;
  redirectUri: string;
  scope?: string;
  state?: string;
  nonce?: string;
  challenge?: string;
  responseMode?: 'query' | 'form_post';
  prompt?: string;
  loginHint?: string;
  extra?: Record<string, string>;
}

export function authorizeUrl(issuer: string, params: AuthorizeParams): string {
  const url = new URL(`${issuer}/authorize`);
  const values: Record<string, string | undefined> = {
    client_id: params.clientId,
    redirect_uri: params.redirectUri,
    response_type: 'code',
    scope: params.scope ?? 'openid profile offline_access',
    state: params.state ?? 'state-1',
    nonce: params.nonce ?? 'nonce-1',
    code_challenge: params.challenge,
    code_challenge_method: params.challenge ? 'S256' : undefined,
    response_mode: params.responseMode,
    prompt: params.prompt,
    login_hint: params.loginHint,
    ...params.extra,
  };
  for (const [key, value] of Object.entries(values)) if (value !== undefined) url.searchParams.set(key, value);
  return url.toString();
}

export function get(url: string, cookie?: string): Promise<Response> {
  return fetch(url, { redirect: 'manual', headers: cookie ? { cookie } : {} });
}

export function postForm(url: string, fields: Record<string, string>, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(fields).toString(),
  });
}

export function transactionOf(html: string): string {
  const match = /name="transaction" value="([^"]+)"/.exec(html);
  if (!match) throw new Error('no transaction field on the page');
  return match[1]!;
}

/** The cookie pair (name=value) a response sets, for sending back. */
export function cookieOf(response: Response): string | undefined {
  return response.headers.getSetCookie()[0]?.split(';')[0];
}

export interface SignInResult {
  code: string;
  state: string | null;
  cookie: string | undefined;
  location: URL;
}

/** /authorize, then the login form; answers the code from the 302 (query mode). */
export async function signIn(issuer: string, params: AuthorizeParams, username = 'ada@contoso.dev', password = 'password', options: { consent?: 'accept' | 'cancel' } = {}): Promise<SignInResult> {
  const page = await get(authorizeUrl(issuer, params));
  if (page.status !== 200) throw new Error(`authorize answered ${page.status}`);
  const transaction = transactionOf(await page.text());
  let answer = await postForm(`${issuer}/authorize/login`, { transaction, username, password });
  const cookie = cookieOf(answer);
  if (answer.status === 200 && options.consent) {
    // The consent screen (consent required, or prompt=consent): Accept or Cancel, from the same browser.
    const html = await answer.text();
    if (!html.includes('action="/authorize/consent"')) throw new Error('expected the consent screen');
    answer = await postForm(`${issuer}/authorize/consent`, { transaction: transactionOf(html), [options.consent]: '1' }, cookie ? { cookie } : {});
  }
  if (answer.status !== 302) throw new Error(`login answered ${answer.status}`);
  const location = new URL(answer.headers.get('location')!);
  const code = location.searchParams.get('code');
  if (!code) throw new Error(`no code: ${location.searchParams.get('error')}`);
  return { code, state: location.searchParams.get('state'), cookie, location };
}

export async function redeem(issuer: string, fields: Record<string, string>, headers: Record<string, string> = {}): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await postForm(`${issuer}/token`, fields, headers);
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}
