/** Token cache rows outlive sessions by the refresh token's usual lifetime; the purge timer uses it. */
export const CACHE_ROW_LIFETIME_MS = 90 * 24 * 60 * 60 * 1000;

/** The expiry written with a row at every write. */
export function cacheRowExpiry(now: number = Date.now()): Date {
  return new Date(now + CACHE_ROW_LIFETIME_MS);
}
