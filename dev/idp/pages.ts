import { escapeHtml as e } from './http';
import type { DevUser } from './types';

const STYLE = `
  :root { color-scheme: light dark; --accent: #0b63ce; --muted: #6b7280; --border: #d1d5db; --bg: #f3f4f6; --card: #fff; --text: #111827; --error: #b91c1c; }
  @media (prefers-color-scheme: dark) { :root { --bg: #111827; --card: #1f2937; --text: #f9fafb; --border: #374151; --muted: #9ca3af; --error: #f87171; } }
  * { box-sizing: border-box; }
  body { margin: 0; min-height: 100vh; display: grid; place-items: center; background: var(--bg); color: var(--text);
    font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
  main { width: min(400px, calc(100vw - 32px)); background: var(--card); border: 1px solid var(--border); border-radius: 12px; padding: 32px; box-shadow: 0 8px 24px rgba(0,0,0,.08); }
  .brand { font-size: 13px; letter-spacing: .04em; text-transform: uppercase; color: var(--muted); margin: 0 0 8px; }
  h1 { font-size: 22px; margin: 0 0 4px; }
  p { margin: 0 0 16px; }
  .sub { color: var(--muted); margin-bottom: 24px; }
  label { display: block; font-weight: 600; margin: 16px 0 6px; }
  input { width: 100%; padding: 10px 12px; font: inherit; color: inherit; background: transparent; border: 1px solid var(--border); border-radius: 8px; }
  input:focus { outline: 2px solid var(--accent); outline-offset: 1px; border-color: transparent; }
  .actions { display: flex; gap: 12px; margin-top: 24px; }
  button { flex: 1; padding: 10px 16px; font: inherit; font-weight: 600; border-radius: 8px; border: 1px solid var(--accent); background: var(--accent); color: #fff; cursor: pointer; }
  button.secondary { background: transparent; color: var(--text); border-color: var(--border); }
  .forgot { margin: 16px 0 0; }
  button.link { flex: none; padding: 0; border: 0; background: none; color: var(--accent); font-weight: 400; text-decoration: underline; }
  .error { color: var(--error); border: 1px solid currentColor; border-radius: 8px; padding: 8px 12px; margin: 0 0 16px; }
  .hint { margin-top: 24px; padding-top: 16px; border-top: 1px solid var(--border); font-size: 13px; color: var(--muted); }
  .hint ul { margin: 4px 0 0; padding-left: 18px; }
  .scopes { margin: 0 0 16px; padding-left: 20px; }
  .scopes li { margin: 6px 0; }
  .scopes code { display: block; font-size: 12px; color: var(--muted); }
  code { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; }
`;

function layout(title: string, body: string, nonce: string, script = ''): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>${e(title)}</title>
<style nonce="${nonce}">${STYLE}</style>
</head>
<body>
<main>
<p class="brand">Dev identity provider</p>
${body}
</main>
${script ? `<script nonce="${nonce}">${script}</script>` : ''}
</body>
</html>`;
}

export interface LoginPageModel {
  transactionId: string;
  clientName: string;
  scopes: string[];
  username?: string;
  error?: string;
  users: readonly DevUser[];
  /** Azure AD B2C's "Forgot your password?" link: the app gets AADB2C90118 and starts its reset flow. */
  forgotPassword?: boolean;
}

export function loginPage(model: LoginPageModel, nonce: string): string {
  const apiScopes = model.scopes.filter((scope) => scope.includes('/'));
  const asks = apiScopes.length > 0 ? `<p class="sub">It will also access: ${apiScopes.map((s) => `<code>${e(s)}</code>`).join(', ')}</p>` : '';
  const hints = model.users.map((user) => `<li>${e(user.name)}: <code>${e(user.username)}</code> / <code>${e(user.password)}</code></li>`).join('');
  const error = model.error ? `<p class="error" role="alert">${e(model.error)}</p>` : '';
  // The sign-in button comes first so Enter submits it; Cancel has no type attribute (a submit button by
  // default) so `button[type=submit]` finds exactly one element.
  return layout(
    'Sign in',
    `<h1>Sign in</h1>
<p class="sub">to continue to <strong>${e(model.clientName)}</strong></p>
${asks}
${error}
<form method="post" action="/authorize/login" autocomplete="on">
<input type="hidden" name="transaction" value="${e(model.transactionId)}">
<label for="username">Email or username</label>
<input id="username" name="username" type="text" autocomplete="username" required autofocus value="${e(model.username ?? '')}">
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
<div class="actions">
<button type="submit">Sign in</button>
<button name="cancel" value="1" class="secondary" formnovalidate>Cancel</button>
</div>
${model.forgotPassword ? '<p class="forgot"><button name="forgot" value="1" class="link" formnovalidate>Forgot your password?</button></p>' : ''}
</form>
<div class="hint">Demo accounts<ul>${hints}</ul></div>`,
    nonce,
  );
}

/** What each OpenID scope lets the app do, in the words a consent screen uses. */
const OIDC_SCOPE_TEXT: Readonly<Record<string, string>> = {
  openid: 'Sign you in',
  profile: 'See your basic profile (name and username)',
  email: 'See your email address',
  offline_access: 'Keep the access you give it, also when you are not using it',
};

export interface ConsentPageModel {
  transactionId: string;
  clientName: string;
  scopes: string[];
  user: DevUser;
}

/** The consent screen: who asks, for whom, every scope asked for, Accept or Cancel. */
export function consentPage(model: ConsentPageModel, nonce: string): string {
  const items = model.scopes
    .map((scope) => {
      const text = OIDC_SCOPE_TEXT[scope];
      if (text) return `<li>${e(text)} <code>${e(scope)}</code></li>`;
      const slash = scope.lastIndexOf('/');
      const resource = slash > 0 ? scope.slice(0, slash) : scope;
      const permission = slash > 0 ? scope.slice(slash + 1) : scope;
      return `<li>Use <strong>${e(permission)}</strong> of ${e(resource)} on your behalf <code>${e(scope)}</code></li>`;
    })
    .join('');
  return layout(
    'Permissions requested',
    `<h1>Permissions requested</h1>
<p class="sub"><strong>${e(model.clientName)}</strong> asks to act for <strong>${e(model.user.name)}</strong> (${e(model.user.username)}). It will be able to:</p>
<ul class="scopes" aria-label="Permissions">${items}</ul>
<p class="sub">Accept only if you trust this app. You can sign out at any time.</p>
<form method="post" action="/authorize/consent">
<input type="hidden" name="transaction" value="${e(model.transactionId)}">
<div class="actions">
<button type="submit" name="accept" value="1">Accept</button>
<button type="submit" name="cancel" value="1" class="secondary">Cancel</button>
</div>
</form>`,
    nonce,
  );
}

export function errorPage(title: string, message: string, nonce: string): string {
  return layout(title, `<h1>${e(title)}</h1><p class="error" role="alert">${e(message)}</p>`, nonce);
}

export function signedOutPage(nonce: string): string {
  return layout('Signed out', '<h1>You have signed out</h1><p class="sub">You can close this window.</p>', nonce);
}

/**
 * OpenID Connect Front-Channel Logout: one hidden iframe per app that registered a front-channel
 * URI, then on to `next` once they have all loaded (or after a few seconds, as Entra does).
 */
export function frontChannelLogoutPage(frames: string[], next: string | undefined, nonce: string): string {
  const iframes = frames.map((src) => `<iframe src="${e(src)}" title="Signing out of an app" width="0" height="0" hidden></iframe>`).join('\n');
  const body = `<h1>Signing out…</h1><p class="sub" id="status">Telling ${frames.length} app(s).</p>\n${iframes}`;
  const script = `(function () {
  var frames = document.querySelectorAll('iframe'), left = frames.length, done = false, next = ${JSON.stringify(next ?? null).replace(/</g, '\\u003c')};
  function finish() {
    if (done) return; done = true;
    if (next) location.replace(next); else document.getElementById('status').textContent = 'You have signed out. You can close this window.';
  }
  frames.forEach(function (f) { f.addEventListener('load', function () { if (--left === 0) finish(); }); });
  setTimeout(finish, 5000);
})();`;
  return layout('Signing out', body, nonce, script);
}

/** The response_mode=form_post answer: the browser POSTs the fields to the app. */
export function formPostPage(action: string, fields: Record<string, string | undefined>, nonce: string): string {
  const inputs = Object.entries(fields)
    .filter((entry): entry is [string, string] => entry[1] !== undefined)
    .map(([name, value]) => `<input type="hidden" name="${e(name)}" value="${e(value)}">`)
    .join('\n');
  return layout(
    'Continuing',
    `<h1>Continuing…</h1>
<form method="post" action="${e(action)}">
${inputs}
<noscript><p class="sub">JavaScript is off: press Continue.</p><div class="actions"><button type="submit">Continue</button></div></noscript>
</form>`,
    nonce,
    'document.forms[0].submit();',
  );
}

/** "Sign out everywhere": ends the user's provider sessions and sends a back-channel logout token to every app. */
export function signOutEverywherePage(model: { user?: string; notified?: number; failed?: number }, nonce: string): string {
  if (model.notified !== undefined) {
    const failed = model.failed ? ` ${model.failed} did not answer 200.` : '';
    return layout('Signed out everywhere', `<h1>Signed out everywhere</h1><p class="sub">${model.notified} app(s) told over the back channel.${e(failed)}</p>`, nonce);
  }
  if (!model.user) return layout('Sign out everywhere', '<h1>Sign out everywhere</h1><p class="sub">Nobody is signed in at this provider.</p>', nonce);
  return layout(
    'Sign out everywhere',
    `<h1>Sign out everywhere</h1><p class="sub">Signed in as <strong>${e(model.user)}</strong>. This ends your sessions here and in every app that registered a back-channel logout URI.</p>
<form method="post" action="/logout/everywhere"><div class="actions"><button type="submit">Sign out everywhere</button></div></form>`,
    nonce,
  );
}
