/**
 * Three-way merge of serialized MSAL caches, for two app instances that changed one account's
 * cache at once. `base` is what this instance read, `ours` what it holds now, `theirs` what the
 * other instance wrote meanwhile. Entries this instance added, changed or removed win; every
 * other entry comes from `theirs`, so neither instance's new tokens are lost.
 */
type Section = Record<string, unknown>;
type SerializedCache = Record<string, Section>;

function parse(json: string | undefined): SerializedCache {
  if (!json) return {};
  const value = JSON.parse(json) as unknown;
  return value && typeof value === 'object' ? (value as SerializedCache) : {};
}

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

export function mergeSerializedCaches(base: string | undefined, ours: string, theirs: string): string {
  const b = parse(base);
  const o = parse(ours);
  const t = parse(theirs);
  const merged: SerializedCache = {};
  for (const sectionName of new Set([...Object.keys(b), ...Object.keys(o), ...Object.keys(t)])) {
    const bs = b[sectionName] ?? {};
    const os = o[sectionName] ?? {};
    const ts = t[sectionName] ?? {};
    const section: Section = { ...ts };
    for (const key of new Set([...Object.keys(bs), ...Object.keys(os)])) {
      const inBase = key in bs;
      const inOurs = key in os;
      if (inOurs && (!inBase || !same(bs[key], os[key]))) section[key] = os[key];
      else if (inBase && !inOurs) delete section[key];
    }
    merged[sectionName] = section;
  }
  return JSON.stringify(merged);
}

/** True when a serialized cache holds no account and no token (the row can be deleted). */
export function isEmptyCache(json: string): boolean {
  const cache = parse(json);
  return ['Account', 'RefreshToken', 'AccessToken', 'IdToken'].every((s) => Object.keys(cache[s] ?? {}).length === 0);
}
