import { CompactEncrypt, compactDecrypt, base64url } from 'jose';
import { createHash } from 'node:crypto';
import { problems } from '../problems';

/**
 * Seals small JSON payloads into cookie values with JWE `dir` + `A256GCM` (authenticated
 * encryption). The first key seals; every key unseals, so keys can be rotated. Anything that
 * does not unseal (tampered, truncated, unknown key, expired) reads as absent, never as an error.
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
  const byId = new Map(keys.map((k) => [keyId(k), k] as const));
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
      try {
        const { plaintext } = await compactDecrypt(value, async (header) => {
          const key = header.kid ? byId.get(header.kid) : undefined;
          if (!key) throw new Error('unknown key');
          return key;
        }, { keyManagementAlgorithms: ['dir'], contentEncryptionAlgorithms: ['A256GCM'] });
        const payload = JSON.parse(new TextDecoder().decode(plaintext)) as { pur?: unknown; exp?: unknown };
        // A purpose binds a value to its cookie: an auth-request cookie cannot pass as a session.
        if (payload.pur !== purpose) return undefined;
        if (typeof payload.exp === 'number' && payload.exp * 1000 <= Date.now()) return undefined;
        return payload as T;
      } catch {
        return undefined;
      }
    },
  };
}
