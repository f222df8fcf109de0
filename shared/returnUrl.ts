/**
 * Keeps post-sign-in redirects on this site: only a local path is accepted, checked after
 * percent-decoding (so `/%2F%2Fevil.example` is refused too). Anything else becomes `/`.
 */
export function safeReturnUrl(candidate: string | null | undefined): string {
  if (!candidate || candidate.length > 2048) return '/';
  let decoded = candidate;
  // Decode repeatedly: a double-encoded `%252F%252F` must not slip through either.
  for (let i = 0; i < 3; i++) {
    let next: string;
    try {
      next = decodeURIComponent(decoded);
    } catch {
      return '/';
    }
    if (next === decoded) break;
    decoded = next;
  }
  for (const form of [candidate, decoded]) {
    if (!form.startsWith('/')) return '/';
    if (form.startsWith('//') || form.startsWith('/\\')) return '/';
    if (form.includes('\\')) return '/';
    // Control characters and whitespace (browsers strip some, which can turn `/\t/evil` into `//evil`).
    if (/[\u0000-\u0020\u007f-\u009f\u00a0\u1680\u2000-\u200f\u2028\u2029\u202f\u205f\u3000\ufeff]/.test(form)) return '/';
  }
  return encodeNonAscii(candidate);
}

/**
 * A Location header holds ASCII only: characters beyond it (`/docs/日本語?q=ü`) are
 * percent-encoded as UTF-8, as a browser would; `%` sequences already there are kept.
 */
function encodeNonAscii(path: string): string {
  try {
    return path.replace(/[^\x21-\x7e]+/g, (run) => encodeURIComponent(run));
  } catch {
    return '/'; // a lone surrogate has no UTF-8 form
  }
}
