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

/** RFC 6750 auth-params of the first Bearer challenge, lower-cased names; undefined without one. */
function bearerParams(header: string): Map<string, string> | undefined {
  const bearer = /(?:^|,)\s*Bearer(?=\s|,|$)\s*(.*)$/i.exec(header);
  if (!bearer) return undefined;
  const params = new Map<string, string>();
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
  if (params?.get('error') !== 'insufficient_claims') return undefined;
  const raw = params.get('claims');
  if (!raw) return undefined;
  const decoded = raw.trim().startsWith('{') ? raw : Buffer.from(raw, 'base64').toString('utf8');
  try {
    return parseClaimsRequest(decoded);
  } catch {
    return undefined;
  }
}

/**
 * Whether an API's 401 refuses the access token itself (revoked, signed with a key the API no
 * longer trusts): a Bearer challenge with `error="invalid_token"`, or a Bearer challenge with no
 * error at all, as Microsoft Graph sends (RFC 6750 leaves the error out when the API gives no
 * reason). A 401 without a Bearer challenge is the API's own business and passes through.
 */
export function tokenRejectedBy(status: number, wwwAuthenticate: string | undefined): boolean {
  if (status !== 401 || !wwwAuthenticate) return false;
  const params = bearerParams(wwwAuthenticate);
  if (!params) return false;
  const error = params.get('error');
  return error === undefined || error === 'invalid_token';
}

/** A loginUrl that carries the claims to /api/login, which sends them on to the authorize endpoint. */
export function loginUrlWithClaims(loginUrl: string, claims: string | undefined): string {
  if (!claims) return loginUrl;
  const url = new URL(loginUrl, 'http://app.invalid');
  url.searchParams.set('claims', claims);
  return `${url.pathname}${url.search}`;
}

/** A claims challenge the token endpoint sent with its refusal (MSAL keeps it on the error). */
export function claimsOfError(error: unknown): string | undefined {
  const claims = (error as { claims?: unknown } | null)?.claims;
  if (typeof claims !== 'string' || claims === '') return undefined;
  try {
    return parseClaimsRequest(claims);
  } catch {
    return undefined;
  }
}
