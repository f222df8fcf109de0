import { base64url } from 'jose';
test('jose loads under jest', () => { expect(base64url.encode('a')).toBe('YQ'); });
