import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { InvocationContext, HttpRequest } from '@azure/functions';
import { AuthError, ClientAuthError, ServerError } from '@azure/msal-node';
import { PROBLEM_CATALOGUE, ProblemError, problemBody, problems, type ProblemCode } from '../../shared/problems';
import { codeRedemptionProblem } from '../../shared/auth/msalErrors';
import { createCookieSealer } from '../../shared/session/sealing';
import { handleErrors } from '../../functions/http/handleErrors';

const codes = Object.keys(PROBLEM_CATALOGUE) as ProblemCode[];
/** Status and title: what the page and the body show (Retry-After is a header). */
const shown = (code: ProblemCode) => ({ status: PROBLEM_CATALOGUE[code].status, title: PROBLEM_CATALOGUE[code].title });

/** The rows of the table in docs/problems.md: code, status, title. */
function documentedProblems(): Map<string, { status: number; title: string }> {
  const page = readFileSync(join(__dirname, '../../docs/problems.md'), 'utf8');
  const rows = new Map<string, { status: number; title: string }>();
  for (const match of page.matchAll(/^\| `([^`]+)` \| (\d{3}) \| ([^|]+?) \|/gm)) {
    expect(rows.has(match[1]!)).toBe(false);
    rows.set(match[1]!, { status: Number(match[2]), title: match[3]! });
  }
  return rows;
}

test('docs/problems.md lists every code of the catalogue, with its status and title, and no other', () => {
  const documented = documentedProblems();
  expect([...documented.keys()].sort()).toEqual([...codes].sort());
  for (const code of codes) expect({ code, ...documented.get(code) }).toEqual({ code, ...shown(code) });
});

test('the README points to the list', () => {
  expect(readFileSync(join(__dirname, '../../README.md'), 'utf8')).toContain('(docs/problems.md)');
});

test('each code has one factory that gives it its status and title', () => {
  for (const code of codes) {
    const error = problems[code]('what to do', { extra: 1 });
    expect(error).toBeInstanceOf(ProblemError);
    expect(error).toMatchObject({ code, ...PROBLEM_CATALOGUE[code], detail: 'what to do' });
    expect(problemBody(error)).toEqual({ type: `urn:token-handler:problem:${code}`, code, ...shown(code), detail: 'what to do', extra: 1 });
  }
  // Extensions never overwrite the fields the contract fixes.
  expect(problemBody(problems.not_found(undefined, { code: 'x', status: 200 }))).toMatchObject({ code: 'not_found', status: 404 });
});

test('every timeout and unavailable dependency tells the caller when to retry; no 4xx does', () => {
  for (const code of codes) {
    const { status } = PROBLEM_CATALOGUE[code];
    const retryAfter = problems[code]().retryAfterSeconds;
    if (code.endsWith('_timeout') || code.endsWith('_unavailable') || code === 'request_deadline_exceeded') expect({ code, retryAfter }).toEqual({ code, retryAfter: expect.any(Number) });
    if (status < 500) expect({ code, retryAfter }).toEqual({ code, retryAfter: undefined });
  }
});

describe('MSAL failures', () => {
  test('only MSAL errors speak for the provider: our own bug is rethrown, never provider_unavailable', () => {
    const bug = new TypeError("Cannot read properties of undefined (reading 'homeAccountId')");
    expect(() => codeRedemptionProblem(bug)).toThrow(bug);
    expect(() => codeRedemptionProblem(new Error('plain'))).toThrow('plain');
  });

  test('network failures, 5xx and refusals map to the contract', () => {
    expect(codeRedemptionProblem(new ClientAuthError('network_error', 'network failed')).code).toBe('provider_unavailable');
    expect(codeRedemptionProblem(new ServerError('temporarily_unavailable', 'down')).code).toBe('provider_unavailable');
    expect(codeRedemptionProblem(new ServerError('invalid_grant', 'AADSTS70008: expired')).code).toBe('code_rejected');
    expect(codeRedemptionProblem(new ServerError('invalid_client', 'AADSTS7000215')).code).toBe('client_credential_rejected');
    expect(codeRedemptionProblem(new AuthError('nonce_mismatch', 'nonce')).code).toBe('id_token_invalid');
    const known = problems.token_cache_unavailable();
    expect(codeRedemptionProblem(known)).toBe(known);
  });
});

describe('handleErrors', () => {
  function run(error: unknown) {
    const lines: string[] = [];
    const context = new InvocationContext({ functionName: 'proxy', logHandler: (level, ...args) => lines.push(`${level} ${args.join(' ')}`) });
    const request = new HttpRequest({ url: 'http://localhost/api/proxy/demo/x', method: 'GET', headers: { 'x-csrf': '1' } });
    return handleErrors(async () => {
      throw error;
    })(request, context).then((response) => ({ response, lines }));
  }

  test('a bug of ours is 500 internal_error, logged with the code and the error type, never its message', async () => {
    const { response, lines } = await run(new TypeError('token eyJsecret leaked'));
    expect(response.status).toBe(500);
    expect(JSON.parse(response.body as string)).toMatchObject({ code: 'internal_error', status: 500 });
    expect(lines).toEqual([expect.stringMatching(/^error proxy: internal_error \(500\): unexpected TypeError$/)]);
    expect(JSON.stringify({ response, lines })).not.toContain('eyJsecret');
  });

  test('a problem keeps its code; a configuration error is 503 naming the setting', async () => {
    expect((await run(problems.api_unknown())).response.status).toBe(404);
    const { ConfigurationError } = await import('../../shared/errors');
    const { response } = await run(new ConfigurationError([{ setting: 'AzureAd__ClientId', message: 'is required' }]));
    expect(response.status).toBe(503);
    expect(JSON.parse(response.body as string)).toMatchObject({ code: 'configuration_invalid', settings: ['AzureAd__ClientId'] });
  });
});

test('a sealed cookie over the browser limit is a cookie_too_large problem, not a bare error', async () => {
  const sealer = createCookieSealer([new Uint8Array(32).fill(7)]);
  await expect(sealer.seal({ scopes: 'x'.repeat(3000) }, 'authreq')).rejects.toMatchObject({ code: 'cookie_too_large', status: 400 });
  await expect(sealer.seal({ scopes: 'x'.repeat(100) }, 'authreq')).resolves.toEqual(expect.any(String));
});
