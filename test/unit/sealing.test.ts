import { randomBytes } from 'node:crypto';
import { CompactEncrypt, compactDecrypt } from 'jose';
import { createCookieSealer } from '../../shared/session/sealing';

const k1 = new Uint8Array(randomBytes(32));
const k2 = new Uint8Array(randomBytes(32));

describe('cookie sealing', () => {
  test('round-trips and binds the purpose', async () => {
    const sealer = createCookieSealer([k1]);
    const value = await sealer.seal({ a: 1 }, 'session');
    expect(await sealer.unseal<{ a: number }>(value, 'session')).toMatchObject({ a: 1 });
    expect(await sealer.unseal(value, 'authreq')).toBeUndefined();
    expect(value).not.toContain('"a"');
  });

  test('tampered, truncated, garbage and old-key values read as absent', async () => {
    const sealer = createCookieSealer([k1]);
    const value = await sealer.seal({ a: 1 }, 'session');
    const flipped = value.slice(0, -5) + (value.at(-5) === 'A' ? 'B' : 'A') + value.slice(-4);
    expect(await sealer.unseal(flipped, 'session')).toBeUndefined();
    expect(await sealer.unseal(value.slice(0, value.length - 10), 'session')).toBeUndefined();
    expect(await sealer.unseal('not-a-jwe', 'session')).toBeUndefined();
    expect(await createCookieSealer([k2]).unseal(value, 'session')).toBeUndefined();
  });

  test('rotation: the new first key seals, the old one still unseals', async () => {
    const old = createCookieSealer([k1]);
    const rotated = createCookieSealer([k2, k1]);
    const sealedByOld = await old.seal({ v: 'old' }, 'session');
    expect(await rotated.unseal(sealedByOld, 'session')).toMatchObject({ v: 'old' });
    const sealedByNew = await rotated.seal({ v: 'new' }, 'session');
    expect(await old.unseal(sealedByNew, 'session')).toBeUndefined();
  });

  test('an expired payload reads as absent', async () => {
    const sealer = createCookieSealer([k1]);
    const value = await sealer.seal({ exp: Math.floor(Date.now() / 1000) - 1 }, 'session');
    expect(await sealer.unseal(value, 'session')).toBeUndefined();
  });
});

describe('cookie unsealing (node:crypto) reads exactly what jose seals', () => {
  const sealer = createCookieSealer([k1]);
  const parts = async () => (await sealer.seal({ a: 1 }, 'session')).split('.');
  const header = (value: string) => JSON.parse(Buffer.from(value, 'base64url').toString()) as Record<string, unknown>;
  const encode = (h: Record<string, unknown>) => Buffer.from(JSON.stringify(h)).toString('base64url');

  test('a value jose decrypts is the one unseal returns, and jose decrypts what seal makes', async () => {
    const value = await sealer.seal({ a: 1, s: 'é✓' }, 'session');
    const { plaintext } = await compactDecrypt(value, k1);
    expect(JSON.parse(new TextDecoder().decode(plaintext))).toEqual(await sealer.unseal(value, 'session'));
  });

  test('an encrypted key part, a changed header, zip or crit, or a short IV or tag read as absent', async () => {
    const [h, , iv, ct, tag] = await parts();
    expect(await sealer.unseal([h, 'AAAA', iv, ct, tag].join('.'), 'session')).toBeUndefined();
    // The header is authenticated: even a header jose would accept unchanged in meaning fails once re-encoded.
    expect(await sealer.unseal([encode({ ...header(h!), x: 1 }), '', iv, ct, tag].join('.'), 'session')).toBeUndefined();
    expect(await sealer.unseal([encode({ ...header(h!), zip: 'DEF' }), '', iv, ct, tag].join('.'), 'session')).toBeUndefined();
    expect(await sealer.unseal([encode({ ...header(h!), crit: ['b64'] }), '', iv, ct, tag].join('.'), 'session')).toBeUndefined();
    expect(await sealer.unseal([encode({ ...header(h!), enc: 'A128GCM' }), '', iv, ct, tag].join('.'), 'session')).toBeUndefined();
    expect(await sealer.unseal([h, '', iv!.slice(0, -2), ct, tag].join('.'), 'session')).toBeUndefined();
    expect(await sealer.unseal([h, '', iv, ct, tag!.slice(0, -4)].join('.'), 'session')).toBeUndefined();
    expect(await sealer.unseal([h, '', iv, ct, tag, ''].join('.'), 'session')).toBeUndefined();
  });

  test('a value jose seals by hand with the same key and kid unseals (the format is JWE, not ours)', async () => {
    const [h] = await parts();
    const kid = header(h!)['kid'] as string;
    const value = await new CompactEncrypt(new TextEncoder().encode(JSON.stringify({ b: 2, pur: 'session' }))).setProtectedHeader({ alg: 'dir', enc: 'A256GCM', kid }).encrypt(k1);
    expect(await sealer.unseal(value, 'session')).toMatchObject({ b: 2 });
  });
});
