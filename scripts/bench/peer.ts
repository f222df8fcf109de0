/**
 * The peer the bench compares against: a minimal proxy written the way MSAL Node's
 * distributed-cache sample is (msal-node's `DistributedCachePlugin` over a cache client and a
 * partition manager keyed by the session's home account id, a new ConfidentialClientApplication
 * per request without cached authority metadata, `acquireTokenSilent`, then the API call).
 * Its cache rows live beside ours in the same Azurite, in clear JSON (one property, as a
 * Redis-style key/value store would hold them), its session is a signed cookie naming the
 * account. Written for the bench; nothing of it ships.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { HttpRequest, HttpResponseInit } from '@azure/functions';
import { TableClient } from '@azure/data-tables';
import { ConfidentialClientApplication, DistributedCachePlugin, ProtocolMode, type ICacheClient, type IPartitionManager } from '@azure/msal-node';
import type { HttpFunctionRegistration } from '../../functions/registration';

export interface PeerOptions {
  readonly connectionString: string;
  readonly tableName: string;
  readonly authority: string;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly apiBaseUrl: string;
  readonly scopes: readonly string[];
  /** Signs the peer's session cookie (express-session's cookie-signature does the same with HMAC-SHA256). */
  readonly cookieSecret: string;
}

export const PEER_COOKIE = 'peer.sid';
export const PEER_ROW_KEY = 'peer';

export function peerCookieValue(homeAccountId: string, secret: string): string {
  return `${homeAccountId}.${createHmac('sha256', secret).update(homeAccountId).digest('base64url')}`;
}

function homeAccountIdOfCookie(header: string | undefined, secret: string): string | undefined {
  const value = header?.split(/;\s*/).find((c) => c.startsWith(`${PEER_COOKIE}=`))?.slice(PEER_COOKIE.length + 1);
  if (!value) return undefined;
  const dot = value.lastIndexOf('.');
  const id = value.slice(0, dot);
  const expected = Buffer.from(peerCookieValue(id, secret));
  const given = Buffer.from(value);
  return expected.length === given.length && timingSafeEqual(expected, given) ? id : undefined;
}

/** The sample's cache client, over a table: one entity per account, the serialized cache in one property. */
export class TableCacheClient implements ICacheClient {
  constructor(private readonly table: TableClient) {}

  async get(key: string): Promise<string> {
    try {
      const entity = await this.table.getEntity<{ Cache?: string }>(partitionOf(key), PEER_ROW_KEY);
      return entity.Cache ?? '';
    } catch (error) {
      if ((error as { statusCode?: number }).statusCode === 404) return '';
      throw error;
    }
  }

  async set(key: string, value: string): Promise<string> {
    await this.table.upsertEntity({ partitionKey: partitionOf(key), rowKey: PEER_ROW_KEY, Cache: value }, 'Replace');
    return 'OK';
  }
}

/** Table keys refuse some characters a home account id may hold. */
function partitionOf(key: string): string {
  return `peer-${Buffer.from(key).toString('base64url')}`;
}

class SessionPartitionManager implements IPartitionManager {
  constructor(private readonly homeAccountId: string) {}
  async getKey(): Promise<string> {
    return this.homeAccountId;
  }
  async extractKey(account: Parameters<IPartitionManager['extractKey']>[0]): Promise<string> {
    return account.homeAccountId;
  }
}

export interface Peer {
  /** The peer as a function of the local host, beside the floor: it pays the same host as the app does. */
  readonly registration: HttpFunctionRegistration;
  /** Its Table calls, counted as the app counts its own. */
  readonly tableCalls: { reads: number; writes: number };
}

/**
 * The sample's handler as one function on the same local host as the app's functions and the
 * floor, so the three pay the same request mapping and answer streaming, and the host's handler
 * CPU meter (dev/host.ts `meterHandlerCpu`) measures it over the same span as theirs.
 */
export function createPeer(options: PeerOptions): Peer {
  const tableCalls = { reads: 0, writes: 0 };
  const counting = {
    name: 'countPeerTableCalls',
    sendRequest: (request: { method: string }, next: (r: never) => Promise<unknown>) => {
      if (request.method === 'GET') tableCalls.reads++;
      else tableCalls.writes++;
      return next(request as never);
    },
  };
  const table = TableClient.fromConnectionString(options.connectionString, options.tableName, { allowInsecureConnection: true, additionalPolicies: [{ policy: counting as never, position: 'perCall' }] });
  const cacheClient = new TableCacheClient(table);

  const handler = async (request: HttpRequest): Promise<HttpResponseInit> => {
    const homeAccountId = homeAccountIdOfCookie(request.headers.get('cookie') ?? undefined, options.cookieSecret);
    if (!homeAccountId) return { status: 401 };
    const client = new ConfidentialClientApplication({
      auth: { clientId: options.clientId, authority: options.authority, clientSecret: options.clientSecret, knownAuthorities: [new URL(options.authority).host] },
      cache: { cachePlugin: new DistributedCachePlugin(cacheClient, new SessionPartitionManager(homeAccountId)) },
      system: { protocolMode: ProtocolMode.OIDC },
    });
    const account = await client.getTokenCache().getAccountByHomeId(homeAccountId);
    if (!account) return { status: 401 };
    const { accessToken } = await client.acquireTokenSilent({ account, scopes: [...options.scopes] });
    const answer = await fetch(`${options.apiBaseUrl}/${request.params['path'] ?? ''}`, { headers: { authorization: `Bearer ${accessToken}` }, signal: AbortSignal.timeout(10_000) });
    return { status: answer.status, headers: { 'content-type': answer.headers.get('content-type') ?? 'application/octet-stream' }, body: answer.body ?? undefined };
  };
  return { registration: { name: 'peer', options: { route: 'peer/{*path}', methods: ['GET'], authLevel: 'anonymous', handler } }, tableCalls };
}
