import { CompactEncrypt, base64url } from 'jose';
import { createDecipheriv, createHash, createSecretKey, type KeyObject } from 'node:crypto';
import { problems } from '../problems';
import { RecentMap } from '../recentMap';

/**
 * Seals small JSON payloads into cookie values with JWE `dir` + `A256GCM` (authenticated
 * encryption). The first key seals; every key unseals, so keys can be rotated. Anything that
 * does not unseal (tampered, truncated, unknown key, expired) reads as absent, never as an error.
 *
 * jose seals (once per sign-in); every request unseals, so that side is node:crypto, synchronous,
 * for the one shape this app seals (RFC 7516 compact, `dir`, `A256GCM`, no `zip`, no `crit`):
 * a jose call costs some 25 times more CPU, on every proxied call.
 */
export interface CookieSealer {
  seal(payload: object, purpose: string): Promise<string>;
  unseal<T>(value: string | undefined, purpose: string): Promise<T | undefined>;
}

const MAX_COOKIE_VALUE = 3800;

function keyId(key: Uint8Array): string {
  return base64url.encode(createHash('sha256').update(key).digest().subarray(0, 8));
}

export function createCookieSealer(keys: readonly Uint8Array[]): CookieSealer {
  if (keys.length === 0) throw new Error('at least one sealing key is required');
  // KeyObjects made once: a raw key given to createDecipheriv is turned into one at every call.
  const byId = new Map(keys.map((k) => [keyId(k), createSecretKey(k)] as const));
  // Values this sealer opened, by cookie value: a browser sends the same session cookie on every
  // call, and opening it (base64url, AES-GCM, JSON) was the largest part of a proxied call's own CPU. Only
  // values that opened are kept; purpose and expiry are checked again at every use.
  const opened = new RecentMap<string, Payload>(MAX_OPENED);
  const [sealingKey] = keys;
  const sealingKid = keyId(sealingKey!);

  return {
    async seal(payload, purpose) {
      const plaintext = new TextEncoder().encode(JSON.stringify({ ...payload, pur: purpose }));
      const jwe = await new CompactEncrypt(plaintext)
        .setProtectedHeader({ alg: 'dir', enc: 'A256GCM', kid: sealingKid })
        .encrypt(sealingKey!);
      // A browser drops a cookie over ~4 KB without a word: refuse to send one, with a code that says why.
      if (jwe.length > MAX_COOKIE_VALUE) throw problems.cookie_too_large('The sign-in needs more state than one browser cookie holds: ask for fewer or shorter scopes.');
      return jwe;
    },
    async unseal<T>(value: string | undefined, purpose: string) {
      if (!value || value.length > MAX_COOKIE_VALUE * 2) return undefined;
      const payload = opened.get(value) ?? openPayload(value, byId);
      if (!payload) return undefined;
      opened.set(value, payload);
      // A purpose binds a value to its cookie: an auth-request cookie cannot pass as a session.
      if (payload.pur !== purpose) return undefined;
      if (typeof payload.exp === 'number' && payload.exp * 1000 <= Date.now()) return undefined;
      return payload as T;
    },
  };
}

type Payload = Readonly<{ pur?: unknown; exp?: unknown }>;

/** Bounded: a few MB at most; the least recently used go first. */
const MAX_OPENED = 2_000;

/** The parsed, frozen payload of a value `seal` made with one of `keys`, or undefined. */
function openPayload(value: string, keys: ReadonlyMap<string, KeyObject>): Payload | undefined {
  const plaintext = openCompactJwe(value, keys);
  if (!plaintext) return undefined;
  try {
    const payload = JSON.parse(plaintext) as unknown;
    // Frozen: the same object answers every later call with this cookie.
    return payload && typeof payload === 'object' ? deepFreeze(payload as Payload) : undefined;
  } catch {
    return undefined;
  }
}

function deepFreeze<T extends object>(value: T): T {
  for (const field of Object.values(value)) if (field && typeof field === 'object') deepFreeze(field as object);
  return Object.freeze(value);
}

const IV_BYTES = 12;
const TAG_BYTES = 16;

/** The plaintext of a compact JWE as `seal` makes it, or undefined for anything else (any other header, a wrong key, a changed byte). */
function openCompactJwe(value: string, keys: ReadonlyMap<string, KeyObject>): string | undefined {
  const parts = value.split('.');
  if (parts.length !== 5) return undefined;
  const [protectedHeader, encryptedKey, ivPart, ciphertextPart, tagPart] = parts as [string, string, string, string, string];
  // `dir` has no encrypted key.
  if (encryptedKey !== '') return undefined;
  try {
    const header = JSON.parse(Buffer.from(protectedHeader, 'base64url').toString('utf8')) as Record<string, unknown>;
    if (!header || header['alg'] !== 'dir' || header['enc'] !== 'A256GCM' || 'zip' in header || 'crit' in header || typeof header['kid'] !== 'string') return undefined;
    const key = keys.get(header['kid']);
    const iv = Buffer.from(ivPart, 'base64url');
    const tag = Buffer.from(tagPart, 'base64url');
    if (!key || iv.length !== IV_BYTES || tag.length !== TAG_BYTES) return undefined;
    const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
    // RFC 7516 5.2: the additional authenticated data is the ASCII of the encoded protected header.
    decipher.setAAD(Buffer.from(protectedHeader, 'ascii'));
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(Buffer.from(ciphertextPart, 'base64url')), decipher.final()]).toString('utf8');
  } catch {
    return undefined;
  }
}
