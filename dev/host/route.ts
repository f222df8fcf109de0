/**
 * Route templates as the Functions host reads them (ASP.NET Core syntax): literal segments,
 * `{name}`, `{name?}`, `{name=default}`, `{*name}` catch-all, and constraints `{id:int}`.
 * Matching runs on the RAW request path, so `..` and `%2e%2e` reach the handler unchanged.
 */

export type RouteSegment =
  | { readonly kind: 'literal'; readonly text: string }
  | {
      readonly kind: 'param';
      readonly name: string;
      readonly optional: boolean;
      readonly catchAll: boolean;
      readonly defaultValue: string | undefined;
      readonly constraints: readonly RouteConstraint[];
    };

export interface RouteConstraint {
  readonly source: string;
  readonly test: (value: string) => boolean;
}

export interface CompiledRoute {
  readonly template: string;
  readonly segments: readonly RouteSegment[];
}

export type RouteParams = Record<string, string>;

/** Parses a template; throws on syntax the host would reject too (complex segments, misplaced catch-all). */
export function compileRoute(template: string): CompiledRoute {
  const trimmed = template.replace(/^~?\/+/, '').replace(/\/+$/, '');
  const parts = trimmed === '' ? [] : trimmed.split('/');
  const segments = parts.map((part) => compileSegment(part, template));
  segments.forEach((segment, index) => {
    if (segment.kind !== 'param') return;
    const isLast = index === segments.length - 1;
    if (segment.catchAll && !isLast) throw new Error(`Route "${template}": a catch-all parameter must be the last segment`);
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
    // e.g. `{a}.{b}` or `file{x}`: legal in ASP.NET Core, never used here, so refuse loudly.
    throw new Error(`Route "${template}": segment "${part}" mixes text and parameters (not supported by the local host)`);
  }
  return compileParameter(part.slice(1, -1), template);
}

function compileParameter(body: string, template: string): RouteSegment {
  let text = body;
  const catchAll = text.startsWith('*');
  text = text.replace(/^\*{1,2}/, '');
  let optional = false;
  if (text.endsWith('?')) {
    optional = true;
    text = text.slice(0, -1);
  }
  const pieces = splitOutsideParens(text, ':');
  // `=default` follows the last constraint (or the name), outside any regex parentheses.
  const last = pieces[pieces.length - 1] ?? '';
  const eq = indexOutsideParens(last, '=');
  const defaultValue = eq >= 0 ? last.slice(eq + 1) : undefined;
  const nameAndConstraints = eq >= 0 ? [...pieces.slice(0, -1), last.slice(0, eq)] : pieces;
  const [name = '', ...constraintSources] = nameAndConstraints;
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new Error(`Route "${template}": invalid parameter name "${name}"`);
  if (optional && defaultValue !== undefined) throw new Error(`Route "${template}": "${name}" cannot be optional and have a default`);
  const constraints = constraintSources.map((source) => compileConstraint(source, template));
  return { kind: 'param', name, optional, catchAll, defaultValue, constraints };
}

function splitOutsideParens(text: string, separator: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === '(') depth++;
    else if (ch === ')') depth = Math.max(0, depth - 1);
    else if (ch === separator && depth === 0) {
      out.push(text.slice(start, i));
      start = i + 1;
    }
  }
  out.push(text.slice(start));
  return out;
}

function indexOutsideParens(text: string, ch: string): number {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '(') depth++;
    else if (c === ')') depth = Math.max(0, depth - 1);
    else if (c === ch && depth === 0) return i;
  }
  return -1;
}

const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;

/** The built-in ASP.NET Core route constraints; unknown ones fail at start-up as in the host. */
function compileConstraint(source: string, template: string): RouteConstraint {
  const m = /^([A-Za-z]+)(?:\((.*)\))?$/s.exec(source);
  if (!m) throw new Error(`Route "${template}": invalid constraint "${source}"`);
  const kind = (m[1] ?? '').toLowerCase();
  const arg = m[2];
  const nums = arg === undefined ? [] : arg.split(',').map((s) => Number(s.trim()));
  const n0 = nums[0] ?? NaN;
  const n1 = nums[1] ?? NaN;
  const isInteger = (v: string): boolean => /^[+-]?\d+$/.test(v);
  const test = ((): ((value: string) => boolean) | undefined => {
    switch (kind) {
      case 'int':
        return (v) => isInteger(v) && Number(v) >= INT32_MIN && Number(v) <= INT32_MAX;
      case 'long':
        return (v) => isInteger(v) && BigInt(v) >= -(2n ** 63n) && BigInt(v) < 2n ** 63n;
      case 'bool':
        return (v) => /^(true|false)$/i.test(v);
      case 'alpha':
        return (v) => /^[A-Za-z]*$/.test(v);
      case 'guid':
        return (v) => /^\{?[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}\}?$/i.test(v);
      case 'decimal':
      case 'double':
      case 'float':
        return (v) => v.trim() !== '' && Number.isFinite(Number(v));
      case 'datetime':
        return (v) => !Number.isNaN(Date.parse(v));
      case 'required':
        return (v) => v !== '';
      case 'minlength':
        return (v) => v.length >= n0;
      case 'maxlength':
        return (v) => v.length <= n0;
      case 'length':
        return nums.length > 1 ? (v) => v.length >= n0 && v.length <= n1 : (v) => v.length === n0;
      case 'min':
        return (v) => isInteger(v) && Number(v) >= n0;
      case 'max':
        return (v) => isInteger(v) && Number(v) <= n0;
      case 'range':
        return (v) => isInteger(v) && Number(v) >= n0 && Number(v) <= n1;
      case 'regex': {
        // ASP.NET Core evaluates route regexes case-insensitively.
        const re = new RegExp(arg ?? '', 'i');
        return (v) => re.test(v);
      }
      default:
        return undefined;
    }
  })();
  if (!test) throw new Error(`Route "${template}": unknown constraint "${source}"`);
  return { source, test };
}

/**
 * Matches a raw path (percent-encoded, no leading `/`, no query) against a route.
 * Returns the parameters, decoded except `%2F`, or null. A single trailing `/` is ignored.
 */
export function matchRoute(route: CompiledRoute, rawPath: string): RouteParams | null {
  const parts = rawPath === '' ? [] : rawPath.split('/');
  const params: RouteParams = {};
  let i = 0;
  for (const segment of route.segments) {
    if (segment.kind === 'param' && segment.catchAll) {
      const rest = parts.slice(i).join('/');
      i = parts.length;
      if (!assign(params, segment, rest)) return null;
      continue;
    }
    const part = parts[i];
    const present = part !== undefined && !(part === '' && i === parts.length - 1 && i > 0);
    if (segment.kind === 'literal') {
      if (!present || decodePathValue(part).toLowerCase() !== segment.text.toLowerCase()) return null;
      i++;
      continue;
    }
    if (present && part !== '') i++;
    if (!assign(params, segment, present ? part : '')) return null;
  }
  // Left over: nothing, or the empty segment of one trailing slash.
  const leftover = parts.slice(i);
  if (leftover.length > 1 || (leftover.length === 1 && (leftover[0] !== '' || i === 0))) return null;
  return params;
}

type ParamSegment = Extract<RouteSegment, { kind: 'param' }>;

/** Stores one parameter value; empty means absent (catch-all and optional: omitted, like the host). */
function assign(params: RouteParams, segment: ParamSegment, raw: string): boolean {
  if (raw === '') {
    if (segment.defaultValue !== undefined) params[segment.name] = segment.defaultValue;
    return segment.optional || segment.catchAll || segment.defaultValue !== undefined;
  }
  const value = decodePathValue(raw);
  if (!segment.constraints.every((c) => c.test(value))) return false;
  params[segment.name] = value;
  return true;
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
  if (segment.catchAll) return 5;
  return segment.constraints.length > 0 ? 3 : 4;
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
