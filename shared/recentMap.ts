/**
 * A Map of at most `limit` entries, for what a process keeps to skip repeated work (opened rows,
 * unsealed cookies, hashes): storing one more drops the entry stored or refreshed longest ago.
 * `get` does not refresh: a caller that wants an entry kept stores it again.
 */
export class RecentMap<K, V> {
  private readonly entries = new Map<K, V>();

  constructor(private readonly limit: number) {}

  get size(): number {
    return this.entries.size;
  }

  get(key: K): V | undefined {
    return this.entries.get(key);
  }

  has(key: K): boolean {
    return this.entries.has(key);
  }

  set(key: K, value: V): void {
    this.entries.delete(key);
    if (this.entries.size >= this.limit) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(key, value);
  }

  delete(key: K): void {
    this.entries.delete(key);
  }

  clear(): void {
    this.entries.clear();
  }
}

/** `derive` with its recent answers kept: for pure functions of a short text called with the same few inputs (a hash per session). */
export function remembered(derive: (input: string) => string, limit: number): (input: string) => string {
  const known = new RecentMap<string, string>(limit);
  return (input) => {
    let output = known.get(input);
    if (output === undefined) known.set(input, (output = derive(input)));
    return output;
  };
}
