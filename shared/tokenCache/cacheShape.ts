import * as z from 'zod/mini';

/**
 * What a row's cache must look like for MSAL to use it: MSAL's serialized cache, whose sections
 * map keys to entries with the fields MSAL reads. Anything else (truncated JSON, another shape)
 * is unreadable: the account then has no tokens until the next sign-in replaces the row.
 */
const text = z.string();
const credential = z.looseObject({ home_account_id: text, environment: text, credential_type: text, client_id: text, secret: text });
const section = <T extends z.ZodMiniType>(entry: T) => z.optional(z.record(z.string(), entry));

const serializedCache = z.looseObject({
  Account: section(z.looseObject({ home_account_id: text, environment: text })),
  IdToken: section(credential),
  AccessToken: section(z.extend(credential, { target: text, expires_on: text, cached_at: text })),
  RefreshToken: section(credential),
  AppMetadata: section(z.looseObject({ client_id: text, environment: text })),
});

export type CacheDecodeResult = { readonly usable: true } | { readonly usable: false; readonly reason: 'not_json' | 'wrong_shape' };

export function checkCacheShape(json: string): CacheDecodeResult {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    return { usable: false, reason: 'not_json' };
  }
  return serializedCache.safeParse(value).success ? { usable: true } : { usable: false, reason: 'wrong_shape' };
}
