import { problems } from '../problems';

/**
 * Claims challenges (Continuous Access Evaluation, Conditional Access authentication context):
 * an API answers 401 `WWW-Authenticate: Bearer error="insufficient_claims", claims="<base64 JSON>"`,
 * or the token endpoint refuses a refresh with `claims` in its error. The app then asks for a
 * token with those claims, silently first, interactively (through `loginUrl`) when it must.
 */

/** Longer claims requests are not something Entra sends; they would also not fit the sign-in cookie. */
const MAX_CLAIMS_CHARS = 2048;

/** A claims request is a JSON object (OpenID Connect Core 5.5); anything else is refused. */
export function parseClaimsRequest(value: string | null | undefined): string | undefined {
  if (value === null || value === undefined || value === '') return undefined;
  if (value.length > MAX_CLAIMS_CHARS) throw problems.claims_invalid(`The claims parameter must be a JSON object of at most ${MAX_CLAIMS_CHARS} characters.`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    throw problems.claims_invalid('The claims parameter must be a JSON object.');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw problems.claims_invalid('The claims parameter must be a JSON object.');
  return JSON.stringify(parsed);
}

/** RFC 6750 auth-params of the first Bearer challenge, lower-cased names. */
function bearerParams(header: string): Map<string, string> {
  const params = new Map<string, string>();
  const bearer = /(?:^|,)\s*Bearer\s+(.*)$/i.exec(header);
  if (!bearer) return params;
  const pattern = /([A-Za-z_][A-Za-z0-9_-]*)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,"]+))\s*(?:,|$)/g;
  for (const match of bearer[1]!.matchAll(pattern)) {
    const name = match[1]!.toLowerCase();
    if (!params.has(name)) params.set(name, match[2] !== undefined ? match[2].replace(/\\(.)/g, '$1') : match[3]!);
  }
  return params;
}

/**
 * The claims an API's 401 asks for, as a JSON string, or undefined when the answer is not a
 * claims challenge. Entra's resources send them base64-encoded; plain JSON is accepted too.
 */
export function claimsChallengeOf(status: number, wwwAuthenticate: string | undefined): string | undefined {
  if (status !== 401 || !wwwAuthenticate) return undefined;
  const params = bearerParams(wwwAuthenticate);
  if (params.get('error') !== 'insufficient_claims') return undefined;
  const raw = params.get('claims');
  if (!raw) return undefined;
  const decoded = raw.trim().startsWith('{') ? raw : Buffer.from(raw, 'base64').toString('utf8');
  try {
    return parseClaimsRequest(decoded);
  } catch {
    return undefined;
  }
}

/** A loginUrl that carries the claims to /api/login, which sends them on to the authorize endpoint. */
export function loginUrlWithClaims(loginUrl: string, claims: string | undefined): string {
  if (!claims) return loginUrl;
  const url = new URL(loginUrl, 'http://app.invalid');
  url.searchParams.set('claims', claims);
  return `${url.pathname}${url.search}`;
}
