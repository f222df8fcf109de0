import { decodePathValue } from './route';

/**
 * The request path as Kestrel hands it to routing under the Functions host: percent-escapes
 * decoded (all but `%2F`, which stays an encoded character of its segment, never a separator),
 * then dot segments removed (RFC 3986 5.2.4), so `a/%2e%2e/b` is `b` and `..` never climbs above
 * the root. Here the escapes other than dots stay encoded in the result (the route matcher
 * decodes values as Kestrel does); only segments that decode to `.` or `..` are resolved.
 * docs/local-host.md says what the real host does and what this host copies of it.
 */
export function normalizePath(rawPath: string): string {
  const segments = rawPath.split('/');
  // The part before the leading `/` (empty) is not a segment.
  segments.shift();
  const out: string[] = [];
  segments.forEach((segment, index) => {
    const decoded = decodePathValue(segment);
    const last = index === segments.length - 1;
    if (decoded === '.' || decoded === '..') {
      if (decoded === '..') out.pop();
      // A dot segment at the end leaves a directory path: `a/b/..` is `a/`.
      if (last) out.push('');
      return;
    }
    out.push(segment);
  });
  return `/${out.join('/')}`;
}
