/**
 * Walks the app's sign-in as a browser would, with plain fetch and a cookie jar: real HTTP
 * to the local host, the dev provider's login form, its form_post answer back to the app.
 */
export class CookieJar {
  private readonly cookies = new Map<string, string>();

  store(response: Response): void {
    for (const line of response.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq).trim();
      const value = pair!.slice(eq + 1);
      if (/max-age=0/i.test(line) || value === '') this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }

  header(): string {
    return [...this.cookies].map(([n, v]) => `${n}=${v}`).join('; ');
  }

  get(name: string): string | undefined {
    return this.cookies.get(name);
  }

  set(name: string, value: string): void {
    this.cookies.set(name, value);
  }

  clone(): CookieJar {
    const copy = new CookieJar();
    for (const [n, v] of this.cookies) copy.set(n, v);
    return copy;
  }
}

export async function send(url: string, jar: CookieJar | undefined, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  if (jar && jar.header()) headers.set('cookie', jar.header());
  const response = await fetch(url, { ...init, headers, redirect: 'manual' });
  jar?.store(response);
  return response;
}

export function hiddenField(html: string, name: string): string {
  const match = new RegExp(`name="${name}" value="([^"]*)"`).exec(html);
  if (!match) throw new Error(`no ${name} field on the page`);
  return match[1]!.replace(/&#(\d+);/g, (_, c: string) => String.fromCharCode(Number(c))).replace(/&amp;/g, '&').replace(/&quot;/g, '"');
}

export interface ProviderAnswer {
  readonly action: string;
  readonly fields: Record<string, string>;
  /** The scopes the provider's consent screen listed, when it showed one (incremental consent). */
  readonly consentScopes?: readonly string[];
}

export interface ProviderSignInOptions {
  readonly returnUrl?: string;
  readonly username?: string;
  readonly loginQuery?: string;
  /** What to press when the provider shows its consent screen (default Accept). */
  readonly consent?: 'accept' | 'cancel';
}

/**
 * /api/login, the provider's login page and form, and its consent screen when it shows one:
 * returns the form the provider posts back (not yet posted).
 */
export async function signInAtProvider(appUrl: string, jar: CookieJar, options: ProviderSignInOptions = {}): Promise<ProviderAnswer> {
  const query = options.loginQuery ?? `returnUrl=${encodeURIComponent(options.returnUrl ?? '/')}`;
  const login = await send(`${appUrl}/api/login?${query}`, jar);
  if (login.status !== 302) throw new Error(`login answered ${login.status}: ${await login.text()}`);
  return answerAtProvider(login.headers.get('location')!, options);
}

/** The provider's side of a sign-in from its authorization URL: login page, form, consent screen; the form it posts back. */
export async function answerAtProvider(authorizationUrl: string, options: Omit<ProviderSignInOptions, 'returnUrl' | 'loginQuery'> = {}): Promise<ProviderAnswer> {
  const providerJar = new CookieJar();
  const page = await send(authorizationUrl, providerJar);
  if (page.status !== 200) throw new Error(`authorize answered ${page.status}`);
  const transaction = hiddenField(await page.text(), 'transaction');
  const authorize = new URL(authorizationUrl);
  const answer = await send(`${authorize.origin}/authorize/login`, providerJar, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ transaction, username: options.username ?? 'ada@contoso.dev', password: 'password' }).toString(),
  });
  if (answer.status !== 200) throw new Error(`provider login answered ${answer.status}`);
  let html = await answer.text();
  let consentScopes: string[] | undefined;
  if (html.includes('action="/authorize/consent"')) {
    // The consent screen (the provider's session cookie from the login answer goes with it), Accept or Cancel pressed.
    consentScopes = [...html.matchAll(/<li>[^<]*(?:<strong>[^<]*<\/strong>[^<]*)?<code>([^<]+)<\/code><\/li>/g)].map((m) => m[1]!);
    const button = options.consent ?? 'accept';
    const consent = await send(`${authorize.origin}/authorize/consent`, providerJar, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ transaction: hiddenField(html, 'transaction'), [button]: '1' }).toString(),
    });
    if (consent.status !== 200) throw new Error(`provider consent answered ${consent.status}`);
    html = await consent.text();
  }
  const action = /<form[^>]*action="([^"]+)"/.exec(html)?.[1];
  if (!action) throw new Error('no form_post form');
  const fields: Record<string, string> = {};
  for (const name of ['code', 'state', 'error', 'error_description']) {
    try {
      fields[name] = hiddenField(html, name);
    } catch {
      /* absent */
    }
  }
  return { action: action.replace(/&amp;/g, '&'), fields, ...(consentScopes ? { consentScopes } : {}) };
}

export function postBack(answer: ProviderAnswer, jar: CookieJar, accept = 'application/json'): Promise<Response> {
  return send(answer.action, jar, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', accept },
    body: new URLSearchParams(answer.fields).toString(),
  });
}

/** A whole sign-in: the jar then holds the session cookie. */
export async function signIn(appUrl: string, jar: CookieJar, options: ProviderSignInOptions = {}): Promise<Response> {
  const answer = await signInAtProvider(appUrl, jar, options);
  const back = await postBack(answer, jar);
  if (back.status !== 302) throw new Error(`redirect answered ${back.status}: ${await back.text()}`);
  return back;
}

export function proxyCall(appUrl: string, jar: CookieJar, path: string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  if (!headers.has('x-csrf')) headers.set('x-csrf', '1');
  return send(`${appUrl}/api/proxy/${path}`, jar, { ...init, headers });
}

/** Nothing that looks like a JWT, refresh token or code in a body. */
export function expectNoSecrets(text: string): void {
  expect(text).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}/);
  expect(text).not.toMatch(/refresh_token|access_token|id_token"/);
}
