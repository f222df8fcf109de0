/**
 * The demo page: asks /api/me who is signed in and renders from that answer. It never sees a
 * token: the session cookie is HttpOnly and the proxy adds the access token on the server.
 * Everything the server sends is written with textContent, never parsed as HTML.
 */

interface ApiLink {
  readonly name: string;
  readonly proxyUrl: string;
}

interface Me {
  readonly claims: Readonly<Record<string, unknown>>;
  readonly session: { readonly issuedAt: string; readonly expiresAt: string };
  readonly logoutUrl: string;
  readonly apis: readonly ApiLink[];
}

interface Problem {
  readonly title?: string;
  readonly status?: number;
  readonly code?: string;
  readonly detail?: string;
  readonly loginUrl?: string;
}

interface Answer {
  readonly status: number;
  readonly ok: boolean;
  /** Parsed JSON when the answer says it is JSON, else the text. */
  readonly body: unknown;
}

const LOGIN_PATH = '/api/login';
/** Paths worth trying first on well-known APIs; any path works. */
// `obo` is the app's own on-behalf-of route in front of the demo API (npm start).
const SUGGESTED_PATHS: Readonly<Record<string, string>> = { demo: 'profile', graph: 'me', obo: 'profile' };
/** Claims that hold seconds since the epoch, shown with their date. */
const TIME_CLAIMS = new Set(['iat', 'exp', 'nbf', 'auth_time']);
const SESSION_ENDED_CODES = new Set(['not_signed_in', 'session_ended']);
const MAX_SHOWN_CHARS = 20_000;

let logoutUrl: string | undefined;
let pendingLoginUrl: string | undefined;
/** The call that needed consent, kept while the browser visits the provider, made again on return. */
let pendingCall: PendingCall | undefined;
const RETRY_KEY = 'th.retryAfterConsent';
/** What the provider's answer means to the user, from /api/redirect's `signInError`. */
const SIGN_IN_NOTES: Readonly<Record<string, string>> = {
  access_denied: 'You cancelled at the provider, so the app did not get the permission it asked for. Nothing else changed; give consent whenever you like.',
};

interface PendingCall {
  readonly api: string;
  readonly path: string;
}

function el<T extends HTMLElement = HTMLElement>(id: string): T {
  const node = document.getElementById(id);
  if (!node) throw new Error(`#${id} is missing from index.html`);
  return node as T;
}

function node<K extends keyof HTMLElementTagNameMap>(tag: K, props: Partial<HTMLElementTagNameMap[K]> = {}, ...children: (Node | string)[]): HTMLElementTagNameMap[K] {
  const element = Object.assign(document.createElement(tag), props);
  element.append(...children);
  return element;
}

// --- talking to the app ---------------------------------------------------------------

async function call(url: string, headers: Record<string, string> = {}): Promise<Answer> {
  const response = await fetch(url, { credentials: 'same-origin', cache: 'no-store', headers: { accept: 'application/json', ...headers } });
  const text = await response.text();
  return { status: response.status, ok: response.ok, body: parseBody(text, response.headers.get('content-type') ?? '') };
}

function parseBody(text: string, contentType: string): unknown {
  if (!/[/+]json\b/.test(contentType)) return text;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

function asProblem(body: unknown): Problem | undefined {
  return typeof body === 'object' && body !== null && !Array.isArray(body) ? (body as Problem) : undefined;
}

/** This app's own login route only: a downstream API's 401 passes through the proxy too and must not send the browser elsewhere. */
function safeLoginUrl(value: unknown): string | undefined {
  if (typeof value !== 'string' || !URL.canParse(value, location.origin)) return undefined;
  const url = new URL(value, location.origin);
  return url.origin === location.origin && url.pathname === LOGIN_PATH ? url.pathname + url.search : undefined;
}

function describeProblem(answer: Answer): string {
  const problem = asProblem(answer.body);
  const title = problem?.title ?? `The app answered ${answer.status}`;
  return problem?.detail ? `${title}: ${problem.detail}` : title;
}

// --- formatting -------------------------------------------------------------------------

const dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
const relativeFormat = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });

function relative(date: Date): string {
  const minutes = Math.round((date.getTime() - Date.now()) / 60_000);
  if (Math.abs(minutes) < 90) return relativeFormat.format(minutes, 'minute');
  return relativeFormat.format(Math.round(minutes / 60), 'hour');
}

function setTime(target: HTMLTimeElement, iso: string, withRelative = false): void {
  const date = new Date(iso);
  target.dateTime = date.toISOString();
  target.textContent = withRelative ? `${dateFormat.format(date)} (${relative(date)})` : dateFormat.format(date);
}

function claimText(name: string, value: unknown): string {
  if (TIME_CLAIMS.has(name) && typeof value === 'number') return `${value} (${dateFormat.format(new Date(value * 1000))})`;
  return typeof value === 'string' ? value : JSON.stringify(value);
}

function displayName(claims: Me['claims']): string {
  for (const key of ['name', 'preferred_username', 'email', 'sub']) {
    const value = claims[key];
    if (typeof value === 'string' && value !== '') return value;
  }
  return 'Signed-in user';
}

function shownBody(body: unknown): string {
  const text = typeof body === 'string' ? body : JSON.stringify(body, null, 2);
  if (text === '') return '(empty answer)';
  return text.length > MAX_SHOWN_CHARS ? `${text.slice(0, MAX_SHOWN_CHARS)}\n… (${text.length - MAX_SHOWN_CHARS} more characters)` : text;
}

// --- rendering --------------------------------------------------------------------------

type View = 'signed-in' | 'signed-out' | 'none';

function showView(view: View): void {
  el('signed-in').hidden = view !== 'signed-in';
  el('signed-out').hidden = view !== 'signed-out';
  document.querySelector('main')?.setAttribute('aria-busy', 'false');
}

function showError(message: string | undefined): void {
  const banner = el('error');
  banner.textContent = message ?? '';
  banner.hidden = message === undefined;
}

/** Removes everything the last user left on the page, so no name or answer outlives the session. */
function clearSignedIn(): void {
  logoutUrl = undefined;
  for (const id of ['user-name', 'user-login', 'session-issued', 'session-expires', 'result-body', 'result-request', 'result-status']) el(id).textContent = '';
  el('apis').replaceChildren();
  el('claims').replaceChildren();
  el('result').hidden = true;
  clearGraph();
  hideConsent();
}

function renderSignedOut(): void {
  clearSignedIn();
  el('status').textContent = 'Not signed in';
  showView('signed-out');
}

function renderSignedIn(me: Me): void {
  clearSignedIn();
  const name = displayName(me.claims);
  const login = me.claims['preferred_username'] ?? me.claims['email'];
  el('user-name').textContent = name;
  el('user-login').textContent = typeof login === 'string' && login !== name ? login : '';
  el('status').textContent = `Signed in as ${name}`;
  setTime(el<HTMLTimeElement>('session-issued'), me.session.issuedAt);
  setTime(el<HTMLTimeElement>('session-expires'), me.session.expiresAt, true);
  logoutUrl = me.logoutUrl;
  renderApis(me.apis);
  const graph = me.apis.find((api) => api.name.toLowerCase() === 'graph');
  if (graph) void renderGraph(graph);
  el('claims').replaceChildren(...Object.entries(me.claims).map(([claim, value]) => node('tr', {}, node('td', { textContent: claim }), node('td', { textContent: claimText(claim, value) }))));
  showView('signed-in');
}

function renderApis(apis: readonly ApiLink[]): void {
  el('no-apis').hidden = apis.length > 0;
  el('apis').replaceChildren(...apis.map((api, index) => apiForm(api, index)));
}

/** One form per API: a path under its proxy URL and a button that calls it. */
function apiForm(api: ApiLink, index: number): HTMLFormElement {
  const id = `api-path-${index}`;
  const input = node('input', { id, name: 'path', value: SUGGESTED_PATHS[api.name] ?? '', autocomplete: 'off', spellcheck: false, placeholder: 'path' });
  // The proxy URL, shown before the input, also describes it to screen readers.
  const prefix = node('span', { id: `${id}-base`, textContent: api.proxyUrl });
  input.setAttribute('aria-describedby', prefix.id);
  const button = node('button', { type: 'submit', className: 'button primary', textContent: `Call ${api.name}` });
  const form = node(
    'form',
    { className: 'api' },
    node('div', { className: 'field' }, node('label', { htmlFor: id, textContent: `${api.name}: path` }), node('span', { className: 'path' }, prefix, input)),
    button,
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    button.disabled = true;
    void callApi(api, input.value).finally(() => (button.disabled = false));
  });
  return form;
}

// --- Microsoft Graph profile -----------------------------------------------------------

let photoUrl: string | undefined;

function clearGraph(): void {
  el('graph').hidden = true;
  el('graph-profile').replaceChildren();
  el('graph-note').hidden = true;
  const photo = el<HTMLImageElement>('graph-photo');
  photo.hidden = true;
  photo.removeAttribute('src');
  if (photoUrl) URL.revokeObjectURL(photoUrl);
  photoUrl = undefined;
}

/** The user's Graph profile and photo through the proxy (`/me`, `/me/photo/$value`), when a `graph` API is configured. */
async function renderGraph(api: ApiLink): Promise<void> {
  let profile: Answer;
  try {
    profile = await call(`${api.proxyUrl}me`, { 'X-CSRF': '1' });
  } catch {
    return;
  }
  el('graph').hidden = false;
  const body = asProblem(profile.body) as Record<string, unknown> | undefined;
  if (!profile.ok || !body) {
    const note = el('graph-note');
    note.textContent = profile.status === 401 ? 'Call graph below to give consent for Microsoft Graph.' : describeProblem(profile);
    note.hidden = false;
    return;
  }
  const facts: [string, unknown][] = [['Name', body['displayName']], ['Sign-in name', body['userPrincipalName']], ['Job title', body['jobTitle']], ['Office', body['officeLocation']]];
  el('graph-profile').replaceChildren(
    ...facts.filter(([, value]) => typeof value === 'string' && value !== '').map(([label, value]) => node('div', {}, node('dt', { textContent: label }), node('dd', { textContent: String(value) }))),
  );
  try {
    const response = await fetch(`${api.proxyUrl}me/photo/$value`, { credentials: 'same-origin', cache: 'no-store', headers: { 'X-CSRF': '1' } });
    const type = response.headers.get('content-type') ?? '';
    // Raster images only: an SVG could carry script.
    if (!response.ok || !/^image\/(png|jpeg|gif|webp)\b/.test(type)) return;
    photoUrl = URL.createObjectURL(await response.blob());
    const photo = el<HTMLImageElement>('graph-photo');
    photo.src = photoUrl;
    photo.hidden = false;
  } catch {
    /* no photo */
  }
}

async function callApi(api: ApiLink, path: string): Promise<void> {
  hideConsent();
  showNotice(undefined);
  const result = el('result');
  result.setAttribute('aria-busy', 'true');
  const url = api.proxyUrl + path.trim().replace(/^\/+/, '');
  try {
    // The anti-forgery header: a cross-site page cannot send it without a CORS preflight the app never grants.
    const answer = await call(url, { 'X-CSRF': '1' });
    showError(undefined);
    renderResult(`GET ${url}`, answer);
    const problem = asProblem(answer.body);
    const loginUrl = answer.status === 401 ? safeLoginUrl(problem?.loginUrl) : undefined;
    if (problem && loginUrl) showConsent(problem, loginUrl, { api: api.name, path });
  } catch {
    showError('The app did not answer. Is it still running?');
  } finally {
    result.setAttribute('aria-busy', 'false');
  }
}

function renderResult(requestLine: string, answer: Answer): void {
  const status = el('result-status');
  status.textContent = String(answer.status);
  status.className = `badge ${answer.ok ? 'ok' : 'bad'}`;
  el('result-request').textContent = requestLine;
  el('result-body').textContent = shownBody(answer.body);
  el('result').hidden = false;
}

/** A 401 with loginUrl: consent (or a claims challenge) for this API, or a session that has ended. */
function showConsent(problem: Problem, loginUrl: string, call: PendingCall): void {
  const ended = SESSION_ENDED_CODES.has(problem.code ?? '');
  el('consent-title').textContent = ended ? 'Your session has ended' : 'This API needs your consent';
  el('consent-detail').textContent = ended
    ? 'Sign in again to keep calling the API.'
    : `${problem.title ?? 'Consent is required'}. The provider asks you; back here, the call is made again.`;
  el('consent-button').textContent = ended ? 'Sign in again' : 'Give consent';
  pendingLoginUrl = loginUrl;
  pendingCall = call;
  el('consent').hidden = false;
}

function hideConsent(): void {
  pendingLoginUrl = undefined;
  pendingCall = undefined;
  el('consent').hidden = true;
}

function showNotice(message: string | undefined): void {
  const notice = el('notice');
  notice.textContent = message ?? '';
  notice.hidden = message === undefined;
}

/** Reads and removes `signInError` from the address, so a reload does not show the note again. */
function takeSignInNote(): string | undefined {
  const url = new URL(location.href);
  const code = url.searchParams.get('signInError');
  if (code === null) return undefined;
  url.searchParams.delete('signInError');
  history.replaceState(history.state, '', url.pathname + url.search + url.hash);
  return SIGN_IN_NOTES[code] ?? 'The sign-in did not complete. Nothing changed; try again whenever you like.';
}

function takePendingCall(): PendingCall | undefined {
  const raw = sessionStorage.getItem(RETRY_KEY);
  sessionStorage.removeItem(RETRY_KEY);
  if (!raw) return undefined;
  try {
    const value = JSON.parse(raw) as Partial<PendingCall>;
    return typeof value.api === 'string' && typeof value.path === 'string' ? { api: value.api, path: value.path } : undefined;
  } catch {
    return undefined;
  }
}

/** Back from consent: the call that needed it is made again, once, in its API's form. */
function retryCall(me: Me, call: PendingCall): void {
  const index = me.apis.findIndex((api) => api.name === call.api);
  const api = me.apis[index];
  if (!api) return;
  el<HTMLInputElement>(`api-path-${index}`).value = call.path;
  void callApi(api, call.path);
}

// --- start ------------------------------------------------------------------------------

async function refresh(): Promise<void> {
  let answer: Answer;
  try {
    answer = await call('/api/me');
  } catch {
    showError('The app did not answer. Is it running?');
    return;
  }
  if (answer.status === 200) {
    showError(undefined);
    const me = answer.body as Me;
    renderSignedIn(me);
    const retry = takePendingCall();
    if (retry && !el('notice').textContent) retryCall(me, retry);
  } else if (answer.status === 401) {
    showError(undefined);
    renderSignedOut();
  } else {
    clearSignedIn();
    showView('none');
    el('status').textContent = 'Unavailable';
    showError(describeProblem(answer));
  }
}

function start(): void {
  el('sign-out').addEventListener('click', () => {
    // A navigation, not fetch: the app answers with a redirect to the provider's sign-out page.
    if (logoutUrl) location.assign(logoutUrl);
  });
  el('consent-button').addEventListener('click', () => {
    if (!pendingLoginUrl) return;
    if (pendingCall) sessionStorage.setItem(RETRY_KEY, JSON.stringify(pendingCall));
    location.assign(pendingLoginUrl);
  });
  // A page restored from the back/forward cache would show what it showed then: hide it and ask again.
  window.addEventListener('pageshow', (event) => {
    if (!event.persisted) return;
    clearSignedIn();
    showView('none');
    void refresh();
  });
  showNotice(takeSignInNote());
  void refresh();
}

start();
