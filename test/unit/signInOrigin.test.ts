import { signInOriginRedirect } from '../../shared/auth/signInOrigin';

describe('signInOriginRedirect', () => {
  const redirectUri = 'http://localhost:7071/api/redirect';

  test('127.0.0.1 goes to the same path and query on the redirect URI\'s origin', () => {
    expect(signInOriginRedirect('http://127.0.0.1:7071/api/login?returnUrl=%2Fx', redirectUri)).toBe('http://localhost:7071/api/login?returnUrl=%2Fx');
    expect(signInOriginRedirect('http://[::1]:7071/api/login', redirectUri)).toBe('http://localhost:7071/api/login');
  });

  test('the right origin, another port, or a non-loopback host is left alone', () => {
    expect(signInOriginRedirect('http://localhost:7071/api/login', redirectUri)).toBeUndefined();
    expect(signInOriginRedirect('http://127.0.0.1:7072/api/login', redirectUri)).toBeUndefined();
    // Behind a proxy the Host a function sees may be rewritten: never redirect on it.
    expect(signInOriginRedirect('https://app-xyz.azurewebsites.net/api/login', 'https://app.contoso.com/api/redirect')).toBeUndefined();
    expect(signInOriginRedirect('http://evil.example:7071/api/login', redirectUri)).toBeUndefined();
  });

  test('a request URL that does not parse is left alone (no exception)', () => {
    expect(signInOriginRedirect('not a url', redirectUri)).toBeUndefined();
  });
});
