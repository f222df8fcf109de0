import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** An unguessable id for codes, tokens, transactions and sessions. */
export function randomId(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}

/** Constant-time comparison of secrets and passwords (hashing first evens out the lengths). */
export function sameSecret(given: string, expected: string): boolean {
  return timingSafeEqual(createHash('sha256').update(given).digest(), createHash('sha256').update(expected).digest());
}

/**
 * A map whose entries expire and whose size is capped, so a dev server left running (or a test
 * hammering it) never grows without bound. Map order is insertion order: the first entry is the oldest.
 */
export class ExpiringMap<V> {
  private readonly entries = new Map<string, { value: V; expiresAt: number }>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries = 10_000,
    /** Milliseconds since the epoch; tests pass their own clock. */
    private readonly now: () => number = Date.now,
  ) {}

  set(key: string, value: V, ttlMs = this.ttlMs): void {
    this.entries.delete(key);
    this.entries.set(key, { value, expiresAt: this.now() + ttlMs });
    this.evict();
  }

  get(key: string): V | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt <= this.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return entry.value;
  }

  delete(key: string): void {
    this.entries.delete(key);
  }

  list(): [string, V][] {
    const now = this.now();
    return [...this.entries.entries()].filter(([, entry]) => entry.expiresAt > now).map(([key, entry]) => [key, entry.value]);
  }

  values(): V[] {
    const now = this.now();
    return [...this.entries.values()].filter((entry) => entry.expiresAt > now).map((entry) => entry.value);
  }

  /** Drops from the oldest end: everything over the cap, then expired entries up to the first live one. */
  private evict(): void {
    const now = this.now();
    for (const [key, entry] of this.entries) {
      if (this.entries.size <= this.maxEntries && entry.expiresAt > now) break;
      this.entries.delete(key);
    }
  }
}
