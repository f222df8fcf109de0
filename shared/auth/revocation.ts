import { createPrivateKey, randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import type { MsalClientCredential } from '../credentials/clientCredential';
import type { Provider } from './discovery';

const REVOCATION_TIMEOUT_MS = 10_000;
const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

/** The refresh tokens a serialized MSAL cache holds. */
export function refreshTokensIn(cacheJson: string): string[] {
  try {
    const cache = JSON.parse(cacheJson) as { RefreshToken?: Record<string, { secret?: unknown }> };
    return Object.values(cache.RefreshToken ?? {})
      .map((entry) => entry.secret)
      .filter((secret): secret is string => typeof secret === 'string' && secret !== '');
  } catch {
    return [];
  }
}

/** The client authentication of the token endpoint, for the revocation endpoint (RFC 7009 section 2.1). */
async function clientAuthentication(clientId: string, credential: MsalClientCredential, audience: string): Promise<Record<string, string>> {
  if ('clientSecret' in credential) return { client_id: clientId, client_secret: credential.clientSecret };
  if ('clientAssertion' in credential) return { client_id: clientId, client_assertion_type: JWT_BEARER, client_assertion: await credential.clientAssertion() };
  const { privateKey, thumbprintSha256 } = credential.clientCertificate;
  const now = Math.floor(Date.now() / 1000);
  const assertion = await new SignJWT({})
    .setProtectedHeader({ alg: 'PS256', typ: 'JWT', 'x5t#S256': Buffer.from(thumbprintSha256, 'hex').toString('base64url') })
    .setIssuer(clientId)
    .setSubject(clientId)
    .setAudience(audience)
    .setJti(randomUUID())
    .setIssuedAt(now)
    .setNotBefore(now)
    .setExpirationTime(now + 300)
    .sign(createPrivateKey(privateKey));
  return { client_id: clientId, client_assertion_type: JWT_BEARER, client_assertion: assertion };
}

/**
 * RFC 7009: revokes each refresh token at the provider's `revocation_endpoint`, when it has one
 * (Entra has none: nothing is sent, nothing fails). Best effort: the local sign-out has already
 * happened, so a provider that refuses or cannot be reached changes nothing for the user.
 * Returns the statuses the provider answered (0: no answer).
 */
export async function revokeRefreshTokens(provider: Provider, clientId: string, credential: MsalClientCredential, tokens: readonly string[]): Promise<number[]> {
  const endpoint = provider.metadata['revocation_endpoint'];
  if (typeof endpoint !== 'string' || !endpoint.startsWith('https://') || tokens.length === 0) return [];
  const statuses: number[] = [];
  for (const token of tokens) {
    try {
      const auth = await clientAuthentication(clientId, credential, provider.metadata.token_endpoint);
      const response = await fetch(endpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: new URLSearchParams({ token, token_type_hint: 'refresh_token', ...auth }).toString(),
        signal: AbortSignal.timeout(REVOCATION_TIMEOUT_MS),
        redirect: 'manual',
      });
      await response.arrayBuffer();
      statuses.push(response.status);
    } catch {
      statuses.push(0);
    }
  }
  return statuses;
}
