import { partitionKeyFor, ROW_KEY } from '../../shared/tokenCache/tableStore';
import { parseSessions, serializeSessions, type SessionEntry } from '../../shared/session/lifetimes';
import type { LocalStack } from '../../dev/stack';
import { cacheTable, homeAccountIdOf } from './cacheRows';

/** The account row's session records and expiry, as an outsider with Table access sees them. */
export async function readSessionRecords(stack: LocalStack, username?: string): Promise<{ sessions: Record<string, SessionEntry>; expiresOn: Date; etag: string } | undefined> {
  try {
    const entity = await cacheTable(stack).getEntity<Record<string, unknown>>(partitionKeyFor(homeAccountIdOf(username)), ROW_KEY);
    return { sessions: parseSessions(entity['Sessions']), expiresOn: entity['ExpiresOn'] as Date, etag: entity.etag };
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode === 404) return undefined;
    throw error;
  }
}

/** Moves every session's clock back, as time passing would: `lastSeen` (idle) and/or `started` (absolute). */
export async function ageSessions(stack: LocalStack, by: { idleSeconds?: number; startedSeconds?: number }, username?: string): Promise<void> {
  const row = (await readSessionRecords(stack, username))!;
  const aged = Object.fromEntries(
    Object.entries(row.sessions).map(([key, e]) => [key, { ...e, lastSeen: e.lastSeen - (by.idleSeconds ?? 0), started: e.started - (by.startedSeconds ?? 0) }]),
  );
  await cacheTable(stack).updateEntity({ partitionKey: partitionKeyFor(homeAccountIdOf(username)), rowKey: ROW_KEY, Sessions: serializeSessions(aged) }, 'Merge', { etag: row.etag });
}
