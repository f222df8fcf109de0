import { AuthError, InteractionRequiredAuthError, ServerError } from '@azure/msal-node';
import { loadConfig } from '../../shared/config';
import { authorityFor } from '../../shared/auth/authority';
import { loginUrlFor } from '../../shared/auth/loginUrl';
import { b2cNavigationForError } from '../../shared/auth/b2cErrors';
import { codeRedemptionProblem, isClientCredentialRejected, isInteractionRequired, safeCode } from '../../shared/auth/msalErrors';
import { withCredentialRetry } from '../../shared/auth/credentialRetry';
import { ProblemError, problems } from '../../shared/problems';
import type { Runtime } from '../../shared/runtime';
import { captureLogLines } from '../../shared/log';
import { MINIMAL_SETTINGS } from '../support/settings';

/** Small rules of sign-in: which authority, where to sign in again, B2C's navigations, MSAL's errors, the credential retry. */
const base = { ...MINIMAL_SETTINGS };
const oidc = loadConfig({ ...base, AzureAd__Authority: 'https://idp.example/tenant' });
const b2cSettings = {
  ...base,
  AzureAd__Instance: 'https://contoso.b2clogin.com/',
  AzureAd__Domain: 'contoso.onmicrosoft.com',
  AzureAd__SignUpSignInPolicyId: 'B2C_1_SignUpSignIn',
  AzureAd__ResetPasswordPolicyId: 'B2C_1_Reset',
  AzureAd__EditProfilePolicyId: 'B2C_1_Edit',
};
const b2c = loadConfig(b2cSettings);
const b2cNoReset = loadConfig({ ...b2cSettings, AzureAd__ResetPasswordPolicyId: '' });

function problemOf(fn: () => unknown): ProblemError {
  try {
    fn();
  } catch (e) {
    if (e instanceof ProblemError) return e;
    throw e;
  }
  throw new Error('no problem thrown');
}

describe('authorityFor', () => {
  test('outside B2C: the one authority, whatever policy is asked for', () => {
    expect(authorityFor(oidc)).toEqual({ url: oidc.authority.url });
    expect(authorityFor(oidc, 'B2C_1_Edit')).toEqual({ url: oidc.authority.url });
  });

  test('B2C: the sign-up/sign-in flow by default, any configured flow by name (any case), nothing else', () => {
    expect(authorityFor(b2c)).toEqual({ url: 'https://contoso.b2clogin.com/contoso.onmicrosoft.com/B2C_1_SignUpSignIn', policy: 'B2C_1_SignUpSignIn' });
    expect(authorityFor(b2c, null)).toMatchObject({ policy: 'B2C_1_SignUpSignIn' });
    expect(authorityFor(b2c, 'b2c_1_reset')).toEqual({ url: 'https://contoso.b2clogin.com/contoso.onmicrosoft.com/B2C_1_Reset', policy: 'B2C_1_Reset' });
    expect(authorityFor(b2c, 'B2C_1_EDIT')).toMatchObject({ policy: 'B2C_1_Edit' });
    expect(problemOf(() => authorityFor(b2c, 'B2C_1_Other'))).toMatchObject({ status: 400, code: 'policy_unknown', detail: 'The policy parameter must name a configured user flow.' });
    expect(problemOf(() => authorityFor(b2cNoReset, ''))).toMatchObject({ code: 'policy_unknown' });
  });
});

describe('loginUrlFor', () => {
  test('back to the app page the call came from, with the scopes to consent to', () => {
    const url = new URL(loginUrlFor(oidc, 'http://localhost:7071/orders?id=7', ['api://demo/Data.Read', 'offline_access']), 'http://x');
    expect(url.pathname).toBe('/api/login');
    expect(url.searchParams.get('returnUrl')).toBe('/orders?id=7');
    expect(url.searchParams.get('scopes')).toBe('api://demo/Data.Read offline_access');
  });

  test('a page of another origin, no Referer or one that does not parse: back to /; no scopes, no scopes parameter', () => {
    for (const referer of ['https://evil.example/orders', 'http://localhost:7072/x', null, 'not a url']) {
      expect(loginUrlFor(oidc, referer, [])).toBe('/api/login?returnUrl=%2F');
    }
  });
});

describe('b2cNavigationForError', () => {
  test('"forgot your password?" starts the reset flow, back to where the sign-in started', () => {
    const next = new URL(b2cNavigationForError(b2c, 'AADB2C90118: The user has forgotten their password.', '/orders')!, 'http://x');
    expect(next.pathname).toBe('/api/login');
    expect(next.searchParams.get('policy')).toBe('B2C_1_Reset');
    expect(next.searchParams.get('returnUrl')).toBe('/orders');
    expect(new URL(b2cNavigationForError(b2c, 'AADB2C90118', '//evil.example')!, 'http://x').searchParams.get('returnUrl')).toBe('/');
  });

  test('other errors, no description, no reset flow configured, or not B2C: no navigation', () => {
    expect(b2cNavigationForError(b2c, 'AADB2C90091: The user has cancelled.', '/')).toBeUndefined();
    expect(b2cNavigationForError(b2c, 'see AADB2C90118', '/')).toBeUndefined();
    expect(b2cNavigationForError(b2c, null, '/')).toBeUndefined();
    expect(b2cNavigationForError(b2c, '', '/')).toBeUndefined();
    expect(b2cNavigationForError(b2cNoReset, 'AADB2C90118', '/')).toBeUndefined();
    expect(b2cNavigationForError(oidc, 'AADB2C90118', '/')).toBeUndefined();
  });
});

describe('MSAL errors', () => {
  const server = (code: string, message = '', subError = '', status?: number) => new ServerError(code, 'corr', message, subError, undefined, status);

  test('a client credential the provider refuses: invalid_client or one of Entra\'s credential codes, in the message or sub-error', () => {
    expect(isClientCredentialRejected(server('invalid_client'))).toBe(true);
    for (const code of ['AADSTS7000215', 'AADSTS7000222', 'AADSTS700027', 'AADSTS700024', 'AADSTS7000214', 'AADSTS1000502']) {
      expect(isClientCredentialRejected(server('unauthorized_client', `${code}: refused`))).toBe(true);
    }
    expect(isClientCredentialRejected(server('invalid_request', '', 'AADSTS7000215'))).toBe(true);
    expect(isClientCredentialRejected(server('invalid_grant', 'AADSTS50173: expired grant'))).toBe(false);
    expect(isClientCredentialRejected(new Error('invalid_client'))).toBe(false);
    // Only MSAL's errors speak for the provider, whatever another error object carries.
    expect(isClientCredentialRejected(Object.assign(new Error('x'), { errorCode: 'invalid_client' }))).toBe(false);
  });

  test('interaction required: MSAL\'s own error, or the provider\'s grant, consent, login and interaction codes', () => {
    expect(isInteractionRequired(new InteractionRequiredAuthError('no_tokens_found', 'corr'))).toBe(true);
    for (const code of ['invalid_grant', 'interaction_required', 'consent_required', 'login_required']) expect(isInteractionRequired(server(code))).toBe(true);
    expect(isInteractionRequired(server('invalid_client'))).toBe(false);
    expect(isInteractionRequired(new AuthError('invalid_grant', 'corr'))).toBe(false);
    expect(isInteractionRequired(new Error('invalid_grant'))).toBe(false);
  });

  test.each([
    [new AuthError('nonce_mismatch', 'corr'), 401, 'id_token_invalid'],
    [new AuthError('state_mismatch', 'corr'), 400, 'state_mismatch'],
    [new AuthError('state_not_found', 'corr'), 400, 'state_mismatch'],
    [new ServerError('invalid_client', 'corr'), 502, 'client_credential_rejected'],
    [new ServerError('invalid_grant', 'corr', 'x', '', undefined, 503), 502, 'provider_unavailable'],
    [new ServerError('invalid_grant', 'corr', 'x', '', undefined, 500), 502, 'provider_unavailable'],
    [new ServerError('temporarily_unavailable', 'corr'), 502, 'provider_unavailable'],
    [new ServerError('server_error', 'corr'), 502, 'provider_unavailable'],
    [new AuthError('network_error', 'corr', 'fetch failed'), 502, 'provider_unavailable'],
    [new AuthError('x', 'corr', 'connect ECONNREFUSED 127.0.0.1'), 502, 'provider_unavailable'],
    [new AuthError('x', 'corr', 'request timed out'), 502, 'provider_unavailable'],
    [new AuthError('x', 'corr', 'request timeout'), 502, 'provider_unavailable'],
    [new AuthError('x', 'corr', 'request time out'), 502, 'provider_unavailable'],
    [new AuthError('x', 'corr', 'answered with status 503'), 502, 'provider_unavailable'],
    [new ServerError('invalid_grant', 'corr', 'x', '', undefined, 400), 400, 'code_rejected'],
    [new AuthError('unexpected', 'corr'), 400, 'code_rejected'],
  ])('%p is %i %s', (error, status, code) => {
    const problem = codeRedemptionProblem(error);
    expect(problem.status).toBe(status);
    expect(problem.code).toBe(code);
  });

  test('details: the nonce named; a provider\'s code only from the provider\'s own answer', () => {
    expect(codeRedemptionProblem(new AuthError('nonce_mismatch', 'corr')).detail).toBe('The ID token does not carry the nonce of this sign-in.');
    expect(codeRedemptionProblem(new AuthError('unexpected', 'corr')).detail).toBeUndefined();
  });

  test('a provider code is echoed only when it looks like a code', () => {
    expect(codeRedemptionProblem(server('invalid_grant', '', '', 400)).detail).toBe('Provider error: invalid_grant. Sign in again.');
    expect(codeRedemptionProblem(server('<script>', '', '', 400)).detail).toBe('Provider error: unknown. Sign in again.');
    expect(safeCode('a'.repeat(64))).toBe('a'.repeat(64));
    expect(safeCode('a'.repeat(65))).toBe('unknown');
    expect(safeCode('AADSTS.1-2_x')).toBe('AADSTS.1-2_x');
    expect(safeCode('has space')).toBe('unknown');
    expect(safeCode('')).toBe('unknown');
    expect(safeCode(42)).toBe('unknown');
  });

  test('a problem passes through; anything not MSAL\'s is ours and rethrown as it is', () => {
    const problem = problems.token_cache_unavailable();
    expect(codeRedemptionProblem(problem)).toBe(problem);
    const bug = new TypeError('x is undefined');
    expect(() => codeRedemptionProblem(bug)).toThrow(bug);
  });
});

describe('withCredentialRetry', () => {
  function runtimeWith(credentials: string[]) {
    const loads: string[] = [];
    const reloadedFrom: unknown[] = [];
    const logs: string[] = [];
    let current = Promise.resolve(credentials[0]!);
    const runtime = {
      credentials: {
        get: () => current,
        reload: (seen: Promise<string>) => {
          reloadedFrom.push(seen);
          loads.push('reload');
          current = Promise.resolve(credentials[1]!);
          return current;
        },
      },
      log: (line: string) => logs.push(line),
    } as unknown as Runtime;
    return { runtime, loads, reloadedFrom, logs, first: () => current };
  }
  let events: string[];
  beforeEach(() => {
    events = [];
    captureLogLines((line) => events.push(line));
  });
  afterEach(() => captureLogLines(undefined));

  test('a call that works is made once with the cached credential', async () => {
    const r = runtimeWith(['old', 'new']);
    const used: string[] = [];
    expect(await withCredentialRetry(r.runtime, async (c) => (used.push(c as unknown as string), 'ok'))).toBe('ok');
    expect(used).toEqual(['old']);
    expect(r.loads).toEqual([]);
  });

  test.each([
    ['MSAL\'s invalid_client', new ServerError('invalid_client', 'corr')],
    ['a client_credential_rejected problem', problems.client_credential_rejected()],
  ])('%s: the credential reloaded once (from the one that failed) and the call made once more', async (_name, refusal) => {
    const r = runtimeWith(['old', 'new']);
    const firstPromise = r.first();
    const used: string[] = [];
    const result = await withCredentialRetry(r.runtime, async (c) => {
      used.push(c as unknown as string);
      if (c === ('old' as never)) throw refusal;
      return 'ok';
    });
    expect(result).toBe('ok');
    expect(used).toEqual(['old', 'new']);
    expect(r.reloadedFrom).toEqual([firstPromise]);
    expect(r.logs).toEqual(['the provider refused the client credential: reloading it once']);
    expect(events.map((l) => JSON.parse(l))).toEqual([expect.objectContaining({ event: 'credential_reload', reason: 'credential_rejected' })]);
  });

  test('other failures pass through without a reload; a second refusal is not retried again', async () => {
    const r = runtimeWith(['old', 'new']);
    const other = problems.provider_unavailable();
    await expect(withCredentialRetry(r.runtime, async () => { throw other; })).rejects.toBe(other);
    expect(r.loads).toEqual([]);
    let calls = 0;
    await expect(withCredentialRetry(r.runtime, async () => { calls++; throw new ServerError('invalid_client', 'corr'); })).rejects.toBeInstanceOf(ServerError);
    expect(calls).toBe(2);
    expect(r.loads).toEqual(['reload']);
  });
});
