import { safeReturnUrl } from '../../shared/returnUrl';

describe('safeReturnUrl', () => {
  test.each([
    ['/', '/'],
    ['/orders?id=1#top', '/orders?id=1#top'],
    ['/a/b', '/a/b'],
  ])('keeps the local path %s', (input, expected) => expect(safeReturnUrl(input)).toBe(expected));

  test.each([
    '//evil.example',
    '/\\evil.example',
    'https://evil.example',
    'evil.example',
    '/%2F%2Fevil.example'.replace('/%2F', '%2F'),
    '%2F%2Fevil.example',
    '/%5Cevil.example',
    '/%252F%252Fevil.example'.replace('/', '%2F'),
    '/\tevil',
    '/a\nb',
    '/ /evil',
    'javascript:alert(1)',
    '/a\\b',
    '',
    null,
    undefined,
  ])('falls back to / for %p', (input) => expect(safeReturnUrl(input as string)).toBe('/'));

  test('a percent-decoded //host is refused', () => {
    expect(safeReturnUrl('/%2fevil.example')).toBe('/');
    expect(safeReturnUrl('/%5cevil.example')).toBe('/');
  });
});
