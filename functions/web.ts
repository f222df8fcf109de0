import type { HttpRequest, HttpResponseInit } from '@azure/functions';
import type { RuntimeSource } from '../shared/runtime';
import { problems } from '../shared/problems';
import type { WebAsset } from '../web/asset';
import { webAssets } from '../web/generated/assets';
import { httpFunction } from './registration';
import { ROUTES } from './manifest';

/**
 * The demo page at /api/ and its files under /api/ (built from web/ by scripts/buildWeb.mjs).
 * Its catch-all route has the lowest precedence, so every other function's route wins.
 */
const INDEX = 'index.html';

/** No inline script or style, nothing from another origin, no framing. */
const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  // blob: for the Graph photo, fetched with the anti-forgery header and shown from memory.
  "img-src 'self' blob:",
  "connect-src 'self'",
  "form-action 'self'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** The asset a route path names: `''` (the page at /api/) is the index; only names the build produced exist. */
export function assetFor(path: string | undefined): WebAsset | undefined {
  const name = path === undefined || path === '' ? INDEX : path;
  return webAssets.get(name);
}

function headersFor(asset: WebAsset): Record<string, string> {
  return {
    'content-type': asset.contentType,
    etag: asset.etag,
    // The page must never come back from a cache: after sign-out, Back would show the signed-in page.
    // The other files may be kept but are revalidated (ETag), so a new build shows at once.
    'cache-control': asset.contentType.startsWith('text/html') ? 'no-store' : 'no-cache',
    'content-security-policy': CONTENT_SECURITY_POLICY,
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'same-origin',
    'cross-origin-opener-policy': 'same-origin',
  };
}

function matchesEtag(request: HttpRequest, etag: string): boolean {
  const given = request.headers.get('if-none-match');
  return given !== null && given.split(',').some((tag) => tag.trim().replace(/^W\//, '') === etag);
}

export async function web(request: HttpRequest, source: RuntimeSource): Promise<HttpResponseInit> {
  await source.get(); // like every function: invalid configuration answers 503 naming the setting
  const asset = assetFor(request.params['path']);
  if (!asset) throw problems.not_found('No function or page file answers this path.');
  const headers = headersFor(asset);
  if (!headers['cache-control']!.includes('no-store') && matchesEtag(request, asset.etag)) return { status: 304, headers };
  return { status: 200, headers, body: asset.body };
}

export const webFunction = httpFunction(ROUTES.web, web);
