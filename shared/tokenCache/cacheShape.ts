import { z } from 'zod';

/**
 * What a row's cache must look like for MSAL to use it: MSAL's serialized cache, whose sections
 * map keys to entries with the fields MSAL reads. Anything else (truncated JSON, another shape)
 * is unreadable: the account then has no tokens until the next sign-in replaces the row.
 */
const text = z.string();
const credential = z.object({ home_account_id: text, environment: text, credential_type: text, client_id: text, secret: text }).passthrough();
const section = <T extends z.ZodType>(entry: T) => z.record(z.string(), entry).optional();

const serializedCache = z
  .object({
    Account: section(z.object({ home_account_id: text, environment: text }).passthrough()),
    IdToken: section(credential),
    AccessToken: section(credential.extend({ target: text, expires_on: text, cached_at: text })),
    RefreshToken: section(credential),
    AppMetadata: section(z.object({ client_id: text, environment: text }).passthrough()),
  })
  .passthrough();

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
