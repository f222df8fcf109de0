/**
 * Route templates as the Functions host reads them (ASP.NET Core syntax), limited to what
 * routes use: literal segments, `{name}`, `{name?}` and a trailing `{*name}` catch-all. Route
 * constraints, defaults and complex segments are refused at start-up, so a route the local host
 * cannot honour never runs with different semantics.
 * Matching runs on the path as Kestrel leaves it (host/path.ts): dot segments, plain or encoded,
 * are resolved first; other escapes are decoded per value here.
 */

export type RouteSegment =
  | { readonly kind: 'literal'; readonly text: string }
  | { readonly kind: 'param'; readonly name: string; readonly optional: boolean; readonly catchAll: boolean };

export interface CompiledRoute {
  readonly template: string;
  readonly segments: readonly RouteSegment[];
}

export type RouteParams = Record<string, string>;

/** Parses a template; throws on syntax the host would reject, and on syntax the local host does not implement. */
export function compileRoute(template: string): CompiledRoute {
  const trimmed = template.replace(/^~?\/+/, '').replace(/\/+$/, '');
  const parts = trimmed === '' ? [] : trimmed.split('/');
  const segments = parts.map((part) => compileSegment(part, template));
  segments.forEach((segment, index) => {
    if (segment.kind !== 'param') return;
    if (segment.catchAll && index !== segments.length - 1) throw new Error(`Route "${template}": a catch-all parameter must be the last segment`);
    const rest = segments.slice(index + 1);
    if (segment.optional && rest.some((s) => s.kind === 'literal' || !(s.optional || s.catchAll))) {
      throw new Error(`Route "${template}": an optional parameter must be followed only by optional segments`);
    }
  });
  const names = segments.flatMap((s) => (s.kind === 'param' ? [s.name.toLowerCase()] : []));
  if (new Set(names).size !== names.length) throw new Error(`Route "${template}": a parameter name appears twice`);
  return { template, segments };
}

function compileSegment(part: string, template: string): RouteSegment {
  if (part === '') throw new Error(`Route "${template}": empty segment`);
  if (!part.includes('{') && !part.includes('}')) return { kind: 'literal', text: part };
  if (!part.startsWith('{') || !part.endsWith('}') || part.slice(1, -1).search(/[{}]/) >= 0) {
    throw new Error(`Route "${template}": segment "${part}" mixes text and parameters (not supported by the local host)`);
  }
  const body = part.slice(1, -1);
  const catchAll = body.startsWith('*');
  const optional = !catchAll && body.endsWith('?');
  const name = body.replace(/^\*{1,2}/, '').replace(/\?$/, '');
  if (/[:=]/.test(name)) {
    throw new Error(`Route "${template}": "${body}" has a constraint or default (not supported by the local host)`);
  }
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new Error(`Route "${template}": invalid parameter name "${name}"`);
  return { kind: 'param', name, optional, catchAll };
}

/**
 * Matches a path (dot segments resolved, other escapes still encoded, no leading `/`, no query)
 * against a route. Returns the parameters, decoded except `%2F`, or null. A single trailing `/`
 * is ignored.
 */
export function matchRoute(route: CompiledRoute, rawPath: string): RouteParams | null {
  const parts = rawPath === '' ? [] : rawPath.split('/');
  const params: RouteParams = {};
  let i = 0;
  for (const segment of route.segments) {
    if (segment.kind === 'param' && segment.catchAll) {
      const rest = parts.slice(i).join('/');
      i = parts.length;
      // An empty catch-all is absent, as in the host.
      if (rest !== '') params[segment.name] = decodePathValue(rest);
      continue;
    }
    const part = parts[i];
    // One trailing slash ends the path: `a/` is `a`.
    const present = part !== undefined && !(part === '' && i === parts.length - 1 && i > 0);
    if (segment.kind === 'literal') {
      if (!present || decodePathValue(part).toLowerCase() !== segment.text.toLowerCase()) return null;
      i++;
      continue;
    }
    if (!present || part === '') {
      // An absent optional parameter is omitted, like the host; a required one is a miss.
      if (!segment.optional) return null;
      continue;
    }
    params[segment.name] = decodePathValue(part);
    i++;
  }
  // Left over: nothing, or the empty segment of one trailing slash.
  const leftover = parts.slice(i);
  if (leftover.length > 1 || (leftover.length === 1 && (leftover[0] !== '' || i === 0))) return null;
  return params;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Percent-decodes a path value as Kestrel does: every escape except `%2F`, which stays literal
 * (so a handler can tell an encoded slash from a separator). Invalid UTF-8 runs stay encoded.
 */
export function decodePathValue(raw: string): string {
  return raw.replace(/(?:%[0-9A-Fa-f]{2})+/g, (run) =>
    run
      .split(/(%2[Ff])/)
      .map((piece) => (/^%2[Ff]$/.test(piece) ? piece : decodeEscapes(piece)))
      .join(''),
  );
}

function decodeEscapes(piece: string): string {
  if (piece === '') return '';
  try {
    return utf8.decode(Buffer.from(piece.replace(/%/g, ''), 'hex'));
  } catch {
    return piece;
  }
}

/** Route precedence per segment, as ASP.NET Core ranks them: lower wins. */
function segmentRank(segment: RouteSegment): number {
  if (segment.kind === 'literal') return 1;
  return segment.catchAll ? 5 : 4;
}

/** Orders routes so that the most specific template is tried first (literals before parameters before catch-alls). */
export function compareRoutePrecedence(a: CompiledRoute, b: CompiledRoute): number {
  const length = Math.max(a.segments.length, b.segments.length);
  for (let i = 0; i < length; i++) {
    const sa = a.segments[i];
    const sb = b.segments[i];
    if (sa === undefined || sb === undefined) return sa === undefined ? -1 : 1;
    const diff = segmentRank(sa) - segmentRank(sb);
    if (diff !== 0) return diff;
  }
  return 0;
}
