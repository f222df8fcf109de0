import { createRemoteJWKSet, type JWTVerifyGetKey } from 'jose';
import type { AuthorityConfig } from '../config';
import { problems, type ProblemError } from '../problems';
import { PROVIDER_TIMEOUT_MS, withTimeout } from '../deadline';

/** The parts of an OpenID Provider's discovery document the app relies on. */
export interface ProviderMetadata {
  readonly issuer: string;
  readonly authorization_endpoint: string;
  readonly token_endpoint: string;
  readonly jwks_uri: string;
  readonly end_session_endpoint?: string;
  readonly [other: string]: unknown;
}

export interface Provider {
  readonly metadata: ProviderMetadata;
  /** The document as fetched, handed to MSAL as `authorityMetadata` so it never discovers again. */
  readonly metadataJson: string;
  readonly jwks: JWTVerifyGetKey;
}

const METADATA_TTL_MS = 24 * 60 * 60 * 1000;

export function discoveryUrl(authority: AuthorityConfig, authorityUrl: string): string {
  const base = authorityUrl.replace(/\/+$/, '');
  // Entra and B2C publish v2.0 metadata under the authority; a generic provider under its issuer.
  return authority.kind === 'oidc' ? `${base}/.well-known/openid-configuration` : `${base}/v2.0/.well-known/openid-configuration`;
}

function isMetadata(value: unknown): value is ProviderMetadata {
  const v = value as Record<string, unknown> | null;
  return !!v && ['issuer', 'authorization_endpoint', 'token_endpoint', 'jwks_uri'].every((k) => typeof v[k] === 'string');
}

/** The endpoints the app sends requests or browsers to, when the document has them. */
const ENDPOINTS = ['authorization_endpoint', 'token_endpoint', 'jwks_uri', 'end_session_endpoint', 'revocation_endpoint'] as const;

/** The first endpoint that is present but not an absolute http(s) URL (a broken document). */
function invalidEndpoint(metadata: ProviderMetadata): string | undefined {
  const fields = metadata as unknown as Record<string, unknown>;
  return ENDPOINTS.find((name) => {
    const value = fields[name];
    if (value === undefined) return false;
    const url = typeof value === 'string' && URL.canParse(value) ? new URL(value) : undefined;
    return url?.protocol !== 'https:' && url?.protocol !== 'http:';
  });
}

export function providerUnavailable(detail?: string): ProblemError {
  return problems.provider_unavailable(detail);
}

/**
 * Discovery documents and JWKS per authority, fetched once per process and shared by every
 * request (MSAL is given the document, so no request pays for discovery twice). Failures are
 * not cached: the next request tries again.
 */
export class ProviderDirectory {
  private readonly entries = new Map<string, { provider: Promise<Provider>; fetchedAt: number }>();

  constructor(private readonly authority: AuthorityConfig) {}

  get(authorityUrl: string = this.authority.url): Promise<Provider> {
    const cached = this.entries.get(authorityUrl);
    if (cached && Date.now() - cached.fetchedAt < METADATA_TTL_MS) return cached.provider;
    const provider = this.load(authorityUrl);
    this.entries.set(authorityUrl, { provider, fetchedAt: Date.now() });
    provider.catch(() => this.entries.delete(authorityUrl));
    return provider;
  }

  private async load(authorityUrl: string): Promise<Provider> {
    const metadataJson = await withTimeout('provider', PROVIDER_TIMEOUT_MS, async (signal) => {
      let response: Response;
      try {
        response = await fetch(discoveryUrl(this.authority, authorityUrl), { signal, headers: { accept: 'application/json' } });
      } catch (error) {
        if (signal.aborted) throw error;
        throw providerUnavailable('The discovery document could not be fetched.');
      }
      if (!response.ok) throw providerUnavailable(`The discovery document answered ${response.status}.`);
      return await response.text();
    });
    let metadata: unknown;
    try {
      metadata = JSON.parse(metadataJson);
    } catch {
      throw providerUnavailable('The discovery document is not JSON.');
    }
    if (!isMetadata(metadata)) throw providerUnavailable('The discovery document lacks issuer, endpoints or jwks_uri.');
    const invalid = invalidEndpoint(metadata);
    if (invalid) throw providerUnavailable(`The discovery document's ${invalid} is not an http(s) URL.`);
    const jwks = createRemoteJWKSet(new URL(metadata.jwks_uri), { timeoutDuration: PROVIDER_TIMEOUT_MS });
    return { metadata, metadataJson, jwks };
  }
}
