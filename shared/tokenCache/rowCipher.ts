import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto';
import { deflateRawSync, inflateRawSync } from 'node:zlib';

/**
 * Encrypts each row's serialized cache at rest with AES-256-GCM (node:crypto: the hot path
 * opens a row per proxied call, and this costs a hundredth of a JWE library call). The
 * associated data names the row, so a value copied into another account's row does not open.
 * The first key seals; every key opens (rotation without a flag day). The cache is deflated
 * first when that saves at least a tenth.
 *
 * Layout (then base64): version(1) flags(1) keyId(8) iv(12) ciphertext tag(16).
 */
export const ROW_FORMAT = 'A256GCM';
const VERSION = 1;
const FLAG_DEFLATE = 1;
const KEY_ID_BYTES = 8;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const HEADER_BYTES = 2 + KEY_ID_BYTES;
/** A deflated cache this much larger than its input is refused on opening (a decompression bomb). */
const MAX_INFLATED_BYTES = 4 * 1024 * 1024;

function keyId(key: Uint8Array): Buffer {
  return createHash('sha256').update(key).digest().subarray(0, KEY_ID_BYTES);
}

/** Without TokenCache__EncryptionKeys, each session key yields a cache key of its own (HKDF), rotating with them. */
export function deriveCacheKeys(sessionKeys: readonly Uint8Array[]): Uint8Array[] {
  return sessionKeys.map((key) => new Uint8Array(hkdfSync('sha256', key, new Uint8Array(0), 'token-handler token cache at rest v1', 32)));
}

export class RowCipher {
  private readonly byId: Map<string, Uint8Array>;
  private readonly sealingKey: Uint8Array;
  private readonly sealingId: Buffer;

  constructor(keys: readonly Uint8Array[]) {
    if (keys.length === 0 || keys.some((k) => k.length !== 32)) throw new Error('token cache keys must be 32 bytes, at least one');
    this.byId = new Map(keys.map((k) => [keyId(k).toString('hex'), k] as const));
    this.sealingKey = keys[0]!;
    this.sealingId = keyId(this.sealingKey);
  }

  /** `compression: 'never'` is for measuring what compression saves. */
  // Stryker disable next-line StringLiteral: any value but 'never' compresses, so the default's spelling is no behaviour
  seal(partitionKey: string, rowKey: string, cache: string, compression: 'auto' | 'never' = 'auto'): string {
    // Stryker disable next-line StringLiteral: Buffer reads an empty encoding name as UTF-8
    const plain = Buffer.from(cache, 'utf8');
    // Stryker disable next-line ConditionalExpression,StringLiteral: deflating a value that is then stored plain costs time only
    const deflated = compression === 'never' ? plain : deflateRawSync(plain);
    const compress = compression !== 'never' && deflated.length <= plain.length * 0.9;
    const header = Buffer.concat([Buffer.from([VERSION, compress ? FLAG_DEFLATE : 0]), this.sealingId]);
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.sealingKey, iv);
    cipher.setAAD(associatedData(partitionKey, rowKey, header));
    const ciphertext = Buffer.concat([cipher.update(compress ? deflated : plain), cipher.final()]);
    return Buffer.concat([header, iv, ciphertext, cipher.getAuthTag()]).toString('base64');
  }

  /** The cache, or undefined when no configured key opens it, it was made for another row, or it is malformed. */
  open(partitionKey: string, rowKey: string, sealed: string): string | undefined {
    const bytes = Buffer.from(sealed, 'base64');
    // Stryker disable next-line ConditionalExpression,ArithmeticOperator: a value too short for header, iv and tag also fails GCM authentication below
    if (bytes.length < HEADER_BYTES + IV_BYTES + TAG_BYTES) return undefined;
    if (bytes[0] !== VERSION) return undefined;
    const header = bytes.subarray(0, HEADER_BYTES);
    const key = this.byId.get(header.subarray(2).toString('hex'));
    // Stryker disable next-line ConditionalExpression: without a key createDecipheriv throws inside the try below, which answers the same
    if (!key) return undefined;
    try {
      const iv = bytes.subarray(HEADER_BYTES, HEADER_BYTES + IV_BYTES);
      const decipher = createDecipheriv('aes-256-gcm', key, iv);
      decipher.setAAD(associatedData(partitionKey, rowKey, header));
      decipher.setAuthTag(bytes.subarray(bytes.length - TAG_BYTES));
      const plain = Buffer.concat([decipher.update(bytes.subarray(HEADER_BYTES + IV_BYTES, bytes.length - TAG_BYTES)), decipher.final()]);
      const inflated = (header[1]! & FLAG_DEFLATE) !== 0 ? inflateRawSync(plain, { maxOutputLength: MAX_INFLATED_BYTES }) : plain;
      return inflated.toString('utf8');
      // Stryker disable next-line BlockStatement: an empty catch falls through to the same undefined
    } catch {
      return undefined;
    }
  }

  /** Whether the row was sealed with a key other than the first (re-sealed at its next write). */
  sealedWithOldKey(sealed: string): boolean {
    // Stryker disable next-line MethodExpression: decoding the whole value gives the same first ten bytes; the slice only saves work
    const id = Buffer.from(sealed.slice(0, 16), 'base64').subarray(2, 2 + KEY_ID_BYTES);
    return !id.equals(this.sealingId);
  }
}

function associatedData(partitionKey: string, rowKey: string, header: Buffer): Buffer {
  // Stryker disable next-line StringLiteral: Buffer reads an empty encoding name as UTF-8
  return Buffer.concat([Buffer.from(`token-cache\n${partitionKey}\n${rowKey}\n`, 'utf8'), header]);
}
