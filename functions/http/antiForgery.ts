import type { HttpRequest } from '@azure/functions';
import { problems } from '../../shared/problems';

/** State-changing and proxied calls: a browser cannot send a custom header cross-site without a preflight, which the app never grants. */
export function requireAntiForgeryHeader(request: HttpRequest): void {
  if (request.headers.get('x-csrf') !== '1') {
    throw problems.antiforgery_header_missing();
  }
}
