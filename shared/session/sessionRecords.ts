import type { Runtime } from '../runtime';
import { problems, signInRequired, type ProblemError } from '../problems';
import { partitionKeyFor, type CacheRow } from '../tokenCache/tableStore';
import { MAX_SESSIONS_PER_ACCOUNT, absoluteExpiry, isLive, liveSessions, needsSlide, nowSeconds, rowExpiry, sessionExpiry, sessionKey, type SessionEntry } from './lifetimes';
import type { Session } from './session';

/**
 * The server side of a session: its record lives in the account's cache row, so the check
 * costs no extra read (the proxy needs the row anyway). A cookie whose record is gone (sign-out,
 * logout notification, expiry, an administrator deleting the row) reads as signed out on every
 * instance at its next request.
 */
export interface LiveSession {
  /** The account's row as read (after a slide, with its new ETag). */
  readonly row: CacheRow;
  readonly entry: SessionEntry;
  /** Seconds since the epoch: the earlier of the idle and the absolute expiry. */
  readonly expiresAt: number;
  readonly absoluteExpiresAt: number;
}

const SIGN_IN_WRITE_ATTEMPTS = 3;

/** A cookie whose server-side record is gone or expired: 401 with where to sign in again. */
export function sessionEndedProblem(loginUrl: string): ProblemError {
  return signInRequired('session_ended', loginUrl, 'The session has ended (signed out, logged out at the provider, or expired).');
}

/** Reads the session's record; slides its idle window when more than half of it has passed (not with `slide: false`). */
export async function readLiveSession(runtime: Runtime, session: Session, options: { slide: boolean }): Promise<LiveSession | undefined> {
  const lifetimes = runtime.config.session;
  const partitionKey = partitionKeyFor(session.homeAccountId);
  let row = await runtime.tokenCache.read(partitionKey);
  if (!row) return undefined;
  const key = sessionKey(session.sid);
  let entry = row.sessions[key];
  const now = nowSeconds();
  if (!isLive(entry, lifetimes, now)) return undefined;

  if (row.needsReseal) {
    // Written in clear (before encryption) or with a retired key: sealed with the first key now,
    // as a whole-row replace, so no clear chunk is left behind.
    const sessions = liveSessions(row.sessions, lifetimes, now);
    const result = await runtime.tokenCache.replaceRow(partitionKey, row.cache, sessions, rowExpiry(sessions, lifetimes, now), row.etag);
    if (result.kind === 'written') row = { cache: row.cache, etag: result.etag, sessions };
  }

  if (options.slide && needsSlide(entry, lifetimes, now)) {
    const slid: SessionEntry = { ...entry, lastSeen: now };
    const sessions = { ...liveSessions(row.sessions, lifetimes, now), [key]: slid };
    const result = await runtime.tokenCache.writeSessions(partitionKey, sessions, rowExpiry(sessions, lifetimes, now), row.etag);
    // A conflict means another request wrote first (a refresh, a slide, a sign-out): the next
    // request slides; the window has not closed yet, so this one goes on as it is.
    if (result.kind === 'written') {
      row = { ...row, etag: result.etag, sessions };
      entry = slid;
    }
  }
  return { row, entry, expiresAt: sessionExpiry(entry, lifetimes), absoluteExpiresAt: absoluteExpiry(entry, lifetimes) };
}

/**
 * A sign-in's row: the fresh cache, the account's live sessions plus the new one. One read and
 * one conditional write; a concurrent writer makes it read and try again.
 */
export async function recordSignIn(runtime: Runtime, homeAccountId: string, sid: string, providerSid: string | undefined, cache: string): Promise<void> {
  const lifetimes = runtime.config.session;
  const partitionKey = partitionKeyFor(homeAccountId);
  for (let attempt = 1; attempt <= SIGN_IN_WRITE_ATTEMPTS; attempt++) {
    const existing = await runtime.tokenCache.read(partitionKey);
    const now = nowSeconds();
    const entry: SessionEntry = { ...(providerSid ? { providerSid } : {}), started: now, lastSeen: now };
    const others = Object.entries(liveSessions(existing?.sessions ?? {}, lifetimes, now)).slice(0, MAX_SESSIONS_PER_ACCOUNT - 1);
    const sessions = { ...Object.fromEntries(others), [sessionKey(sid)]: entry };
    // A row that exists but cannot be read (no key opens it) makes the create conflict: the last attempt replaces it.
    const etag = existing?.etag ?? (attempt === SIGN_IN_WRITE_ATTEMPTS ? 'any' : undefined);
    const result = await runtime.tokenCache.replaceRow(partitionKey, cache, sessions, rowExpiry(sessions, lifetimes, now), etag);
    if (result.kind === 'written') return;
  }
  throw problems.token_cache_contended('The sign-in could not be saved: the account\'s row kept changing; try again.');
}

/** Ends the sessions of a provider session (`sid`); when none of the account's is left, its tokens go too. */
export async function endProviderSession(runtime: Runtime, accountPartitionKey: string, providerSid: string): Promise<number> {
  return endSessions(runtime, accountPartitionKey, (entry) => entry.providerSid === providerSid);
}

/** Removes the sessions `matches` picks, over the version read (If-Match); deletes the row when none is left. */
export async function endSessions(runtime: Runtime, accountPartitionKey: string, matches: (entry: SessionEntry) => boolean): Promise<number> {
  const lifetimes = runtime.config.session;
  for (let attempt = 1; attempt <= SIGN_IN_WRITE_ATTEMPTS; attempt++) {
    const row = await runtime.tokenCache.read(accountPartitionKey);
    if (!row) return 0;
    const now = nowSeconds();
    const live = liveSessions(row.sessions, lifetimes, now);
    const ended = Object.keys(live).filter((key) => matches(live[key]!));
    if (ended.length === 0) return 0;
    const left = Object.fromEntries(Object.entries(live).filter(([key]) => !ended.includes(key)));
    if (Object.keys(left).length === 0) {
      if (await runtime.tokenCache.delete(accountPartitionKey, row.etag)) return ended.length;
      continue;
    }
    const result = await runtime.tokenCache.writeSessions(accountPartitionKey, left, rowExpiry(left, lifetimes, now), row.etag);
    if (result.kind === 'written') return ended.length;
    if (result.kind === 'missing') return 0;
  }
  throw problems.token_cache_contended('The sessions could not be ended: the account\'s row kept changing; try again.');
}
