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
    '%2F%2Fevil.example',
    '/%5Cevil.example',
    '%2F%252F%252Fevil.example',
    '/\tevil',
    '/a\nb',
    '/ /evil',
    'javascript:alert(1)',
    '/a\\b',
    '',
    null,
    undefined,
  ])('falls back to / for %p', (input) => expect(safeReturnUrl(input as string)).toBe('/'));

  test('characters beyond ASCII are percent-encoded as UTF-8 (a Location header is ASCII)', () => {
    expect(safeReturnUrl('/docs/日本語?q=ü')).toBe('/docs/%E6%97%A5%E6%9C%AC%E8%AA%9E?q=%C3%BC');
    expect(safeReturnUrl('/a-b/é')).toBe('/a-b/%C3%A9');
    expect(safeReturnUrl('/x\ud800')).toBe('/');
  });

  test.each([
    '/%252F%252Fevil.example',
    '/%252f/evil.example',
    '/%255Cevil.example',
    '/%25252F%25252Fevil.example',
    '/%2509/evil',
  ])('a path that is only bad after decoding twice or more is refused: %s', (input) => {
    // Decoded once, each still starts with a single '/': only the loop finds the '//' or '\\'.
    expect(decodeURIComponent(input).startsWith('//')).toBe(false);
    expect(safeReturnUrl(input)).toBe('/');
  });

  test('a percent-decoded //host is refused', () => {
    expect(safeReturnUrl('/%2fevil.example')).toBe('/');
    expect(safeReturnUrl('/%5cevil.example')).toBe('/');
  });
});
