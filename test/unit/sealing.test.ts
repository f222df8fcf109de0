import { randomBytes } from 'node:crypto';
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
