import type { JWTPayload } from 'jose';
import type { Runtime } from '../runtime';
import type { Provider } from '../auth/discovery';
import { partitionKeyFor } from '../tokenCache/tableStore';
import { nowSeconds } from './lifetimes';

/**
 * A logout notification names the provider's session (`sid`) or user (`sub`), not the app's
 * account row: small link rows map one to the other. The `sid` link is written when the ID
 * token carries a sid; the `sub` link only for a provider that sends back-channel logout
 * (`backchannel_logout_supported`), since nothing else looks a user up by `sub`.
 */
export async function linkForLogout(runtime: Runtime, provider: Provider, claims: JWTPayload, homeAccountId: string, providerSid: string | undefined): Promise<void> {
  const account = partitionKeyFor(homeAccountId);
  const issuer = typeof claims.iss === 'string' ? claims.iss : provider.metadata.issuer;
  const expiresOn = new Date((nowSeconds() + runtime.config.session.absoluteLifetimeSeconds) * 1000);
  const writes: Promise<void>[] = [];
  if (providerSid) writes.push(runtime.tokenCache.writeLink('sid', providerSid, issuer, account, expiresOn));
  if (provider.metadata['backchannel_logout_supported'] === true && typeof claims.sub === 'string') {
    writes.push(runtime.tokenCache.writeLink('sub', claims.sub, issuer, account, expiresOn));
  }
  await Promise.all(writes);
}
