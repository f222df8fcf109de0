import type { ProblemError } from '../../shared/problems';

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** The page a browser navigation gets instead of problem+json: title, detail, code, and the ways back. */
export function errorPage(error: ProblemError): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>${escapeHtml(error.title)}</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:36rem;margin:4rem auto;padding:0 1rem;color:#1b1b1f}code{background:#f1f1f4;padding:.1rem .3rem;border-radius:4px}a{color:#0b57d0}</style></head>
<body><h1>${escapeHtml(error.title)}</h1>${error.detail ? `<p>${escapeHtml(error.detail)}</p>` : ''}<p>Error code: <code>${escapeHtml(error.code)}</code> (HTTP ${error.status})</p><p><a href="/api/">Back to the app</a> · <a href="/api/login?returnUrl=%2Fapi%2F">Sign in again</a></p></body></html>`;
}
