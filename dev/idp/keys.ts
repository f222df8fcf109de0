import { calculateJwkThumbprint, exportJWK, generateKeyPair, type CryptoKey, type JSONWebKeySet, type JWK } from 'jose';

export interface SigningKey {
  kid: string;
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  publicJwk: JWK;
}

export async function createSigningKey(): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  const jwk = await exportJWK(publicKey);
  // The thumbprint as kid: stable for a key, different for the next one.
  const kid = await calculateJwkThumbprint(jwk);
  return { kid, privateKey, publicKey, publicJwk: { ...jwk, kid, use: 'sig', alg: 'RS256' } };
}

/** The current signing key plus the retired ones still published, as Entra keeps old keys during rollover. */
export class SigningKeys {
  private published: SigningKey[];

  private constructor(first: SigningKey) {
    this.published = [first];
  }

  static async create(): Promise<SigningKeys> {
    return new SigningKeys(await createSigningKey());
  }

  get current(): SigningKey {
    return this.published[0]!;
  }

  async rotate(dropPrevious = false): Promise<void> {
    const next = await createSigningKey();
    // Two retired keys at most: enough for a rollover test, bounded for a long-running dev server.
    this.published = dropPrevious ? [next] : [next, ...this.published].slice(0, 3);
  }

  find(kid: string | undefined): SigningKey | undefined {
    return this.published.find((key) => key.kid === kid);
  }

  jwks(): JSONWebKeySet {
    return { keys: this.published.map((key) => key.publicJwk) };
  }
}
