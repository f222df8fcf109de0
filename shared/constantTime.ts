import { timingSafeEqual } from 'node:crypto';

/** Compares a value from the request with a secret one without leaking, through timing, how much matched. */
export function sameSecretValue(given: string | null | undefined, expected: string): boolean {
  if (!given) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}
