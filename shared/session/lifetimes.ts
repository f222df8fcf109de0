import { createHash } from 'node:crypto';
import { remembered } from '../recentMap';

/**
 * Session lifetimes and the server-side session records kept in the account's cache row.
 *
 * Defaults follow ASP.NET Core cookie authentication (and so Duende BFF): a 14-day sliding
 * window, renewed once more than half of it has passed. Neither caps a session's total age;
 * this app does, at 30 days, so a stolen cookie cannot be kept alive by use alone.
 */
export interface SessionLifetimes {
  readonly idleTimeoutSeconds: number;
  readonly absoluteLifetimeSeconds: number;
}

export const DEFAULT_IDLE_TIMEOUT_SECONDS = 14 * 24 * 60 * 60;
export const DEFAULT_ABSOLUTE_LIFETIME_SECONDS = 30 * 24 * 60 * 60;
/** Live sessions kept per account: the oldest go first when a new sign-in would exceed it. */
export const MAX_SESSIONS_PER_ACCOUNT = 32;

const ISO_DURATION = /^P(?:(\d+)W)?(?:(\d+)D)?(?:T(?=\d)(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$/i;
const TIME_SPAN = /^(?:(\d+)\.)?(\d{1,2}):(\d{2})(?::(\d{2})(?:\.\d{1,7})?)?$/;

/** Seconds in an ISO 8601 duration (weeks, days, hours, minutes, seconds) or a .NET TimeSpan `[d.]hh:mm[:ss]`. */
export function parseDuration(text: string): number | undefined {
  const value = text.trim();
  const iso = ISO_DURATION.exec(value);
  // 'P' alone matches (every part is optional); 'PT' does not (T needs a digit after it).
  if (iso && value.length > 1) {
    const [, w, d, h, m, s] = iso;
    return Math.floor(Number(w ?? 0) * 604800 + Number(d ?? 0) * 86400 + Number(h ?? 0) * 3600 + Number(m ?? 0) * 60 + Number(s ?? 0));
  }
  const span = TIME_SPAN.exec(value);
  if (span) {
    const [, d, h, m, s] = span;
    if (Number(h) > 23 || Number(m) > 59 || Number(s ?? 0) > 59) return undefined;
    return Number(d ?? 0) * 86400 + Number(h) * 3600 + Number(m) * 60 + Number(s ?? 0);
  }
  return undefined;
}

/** One app session as the row keeps it (times in seconds since the epoch). */
export interface SessionEntry {
  /** The provider's session id (`sid` of the ID token), for front- and back-channel logout. */
  readonly providerSid?: string;
  readonly started: number;
  readonly lastSeen: number;
}

/** Keyed by `sessionKey(sid)`: the row never holds the cookie's session id itself. */
export type SessionMap = Readonly<Record<string, SessionEntry>>;

/** Asked at every proxied call, for the same sessions. */
export const sessionKey = remembered((sid) => createHash('sha256').update(sid, 'utf8').digest('hex').slice(0, 32), 10_000);

export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

export function idleExpiry(entry: SessionEntry, lifetimes: SessionLifetimes): number {
  return entry.lastSeen + lifetimes.idleTimeoutSeconds;
}

export function absoluteExpiry(entry: SessionEntry, lifetimes: SessionLifetimes): number {
  return entry.started + lifetimes.absoluteLifetimeSeconds;
}

export function sessionExpiry(entry: SessionEntry, lifetimes: SessionLifetimes): number {
  return Math.min(idleExpiry(entry, lifetimes), absoluteExpiry(entry, lifetimes));
}

export function isLive(entry: SessionEntry | undefined, lifetimes: SessionLifetimes, now = nowSeconds()): entry is SessionEntry {
  return !!entry && now < sessionExpiry(entry, lifetimes);
}

/**
 * ASP.NET Core's sliding rule: renew only once more than half of the idle window has passed,
 * so a busy user causes at most one write per half window, not one per request.
 */
export function needsSlide(entry: SessionEntry, lifetimes: SessionLifetimes, now = nowSeconds()): boolean {
  return now - entry.lastSeen > lifetimes.idleTimeoutSeconds / 2 && idleExpiry(entry, lifetimes) < absoluteExpiry(entry, lifetimes);
}

/** The live sessions only, newest first, at most MAX_SESSIONS_PER_ACCOUNT. */
export function liveSessions(sessions: SessionMap, lifetimes: SessionLifetimes, now = nowSeconds()): Record<string, SessionEntry> {
  const live = Object.entries(sessions)
    .filter(([, entry]) => isLive(entry, lifetimes, now))
    .sort(([, a], [, b]) => b.lastSeen - a.lastSeen)
    .slice(0, MAX_SESSIONS_PER_ACCOUNT);
  return Object.fromEntries(live);
}

/** When the row may be purged: once its last session has expired (now, when none is left). */
export function rowExpiry(sessions: SessionMap, lifetimes: SessionLifetimes, now = nowSeconds()): Date {
  const latest = Math.max(now, ...Object.values(sessions).map((entry) => sessionExpiry(entry, lifetimes)));
  return new Date(latest * 1000);
}

/** Compact, schema-checked JSON for the row's `Sessions` property. */
export function serializeSessions(sessions: SessionMap): string {
  return JSON.stringify(Object.fromEntries(Object.entries(sessions).map(([key, e]) => [key, [e.providerSid ?? '', e.started, e.lastSeen]])));
}

export function parseSessions(value: unknown): Record<string, SessionEntry> {
  if (typeof value !== 'string') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
    // Stryker disable next-line BlockStatement: an empty catch leaves parsed undefined, refused just below
  } catch {
    return {};
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) return {};
  const sessions: Record<string, SessionEntry> = {};
  for (const [key, raw] of Object.entries(parsed as Record<string, unknown>)) {
    if (!Array.isArray(raw) || raw.length !== 3) continue;
    const [providerSid, started, lastSeen] = raw as unknown[];
    if (typeof providerSid !== 'string' || typeof started !== 'number' || typeof lastSeen !== 'number') continue;
    sessions[key] = { ...(providerSid ? { providerSid } : {}), started, lastSeen };
  }
  return sessions;
}
