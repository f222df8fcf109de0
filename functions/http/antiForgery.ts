import type { HttpRequest } from '@azure/functions';
import { ProblemError } from '../../shared/errors';

/** State-changing and proxied calls: a browser cannot send a custom header cross-site without a preflight, which the app never grants. */
export function requireAntiForgeryHeader(request: HttpRequest): void {
  if (request.headers.get('x-csrf') !== '1') {
    throw new ProblemError(403, 'antiforgery_header_missing', 'The X-CSRF: 1 header is required');
  }
}
