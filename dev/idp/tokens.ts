import { SignJWT, UnsecuredJWT, type JWTPayload } from 'jose';
import { createSigningKey, type SigningKey, type SigningKeys } from './keys';
import { randomId } from './store';
import type { DevUser, IdTokenOverride } from './types';

export interface TokenSettings {
  issuer: string;
  keys: SigningKeys;
  accessTokenLifetimeSeconds: number;
  idTokenLifetimeSeconds: number;
}

function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

async function sign(payload: JWTPayload, key: SigningKey, kid = key.kid): Promise<string> {
  return new SignJWT(payload).setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid }).sign(key.privateKey);
}

export interface IdTokenInput {
  user: DevUser;
  clientId: string;
  nonce?: string;
  authTime?: number;
  /** The provider's public session id, for logout correlation. */
  sid?: string;
  /** Claims of the authority's kind (B2C's `tfp`), added as they are. */
  extra?: Record<string, unknown>;
}

export async function issueIdToken(settings: TokenSettings, input: IdTokenInput, override?: IdTokenOverride): Promise<string> {
  const iat = nowSeconds();
  const { user } = input;
  const expired = override?.expired === true;
  const issuedAt = expired ? iat - settings.idTokenLifetimeSeconds - 600 : iat;
  const payload: JWTPayload & Record<string, unknown> = {
    iss: override?.issuer ?? settings.issuer,
    sub: user.sub,
    aud: override?.audience ?? input.clientId,
    exp: issuedAt + settings.idTokenLifetimeSeconds,
    iat: issuedAt,
    nbf: issuedAt,
    name: user.name,
    preferred_username: user.username,
    email: user.email ?? user.username,
    oid: user.oid,
    tid: user.tid,
    ver: '2.0',
  };
  const nonce = override && 'nonce' in override ? override.nonce : input.nonce;
  if (nonce !== undefined && nonce !== null) payload.nonce = nonce;
  if (input.authTime !== undefined) payload.auth_time = input.authTime;
  if (input.sid !== undefined) payload.sid = input.sid;
  if (override && 'sid' in override) payload.sid = override.sid;
  Object.assign(payload, input.extra);

  if (override?.alg === 'none') return new UnsecuredJWT(payload).encode();
  if (override?.signWithForeignKey) return sign(payload, await createSigningKey(), settings.keys.current.kid);
  return sign(payload, settings.keys.current);
}

export interface AccessTokenInput {
  audience: string;
  clientId: string;
  /** Absent for app tokens (client credentials). */
  user?: DevUser;
  /** Short scope names, for delegated tokens. */
  scp?: string[];
  /** App roles, for app tokens. */
  roles?: string[];
  /** The calling app's service principal, for app tokens. */
  app?: { oid: string; tid: string; displayName: string };
  extra?: Record<string, unknown>;
}

export async function issueAccessToken(settings: TokenSettings, input: AccessTokenInput): Promise<{ token: string; expiresIn: number }> {
  const iat = nowSeconds();
  const expiresIn = settings.accessTokenLifetimeSeconds;
  const common: JWTPayload & Record<string, unknown> = {
    iss: settings.issuer,
    aud: input.audience,
    iat,
    nbf: iat,
    exp: iat + expiresIn,
    azp: input.clientId,
    ver: '2.0',
    uti: randomId(16),
  };
  const claims: Record<string, unknown> = input.user
    ? {
        sub: input.user.sub,
        oid: input.user.oid,
        tid: input.user.tid,
        name: input.user.name,
        preferred_username: input.user.username,
        scp: (input.scp ?? []).join(' '),
      }
    : {
        sub: input.app?.oid,
        oid: input.app?.oid,
        tid: input.app?.tid,
        app_displayname: input.app?.displayName,
        idtyp: 'app',
        roles: input.roles ?? [],
      };
  return { token: await sign({ ...common, ...claims, ...input.extra }, settings.keys.current), expiresIn };
}

/** MSAL builds the home account id `uid.utid` from this: a guest's home tenant, not the tenant signed in to. */
export function clientInfo(user: DevUser): string {
  return Buffer.from(JSON.stringify({ uid: user.home?.oid ?? user.oid, utid: user.home?.tid ?? user.tid })).toString('base64url');
}
