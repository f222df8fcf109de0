import type { AppConfig, DownstreamApiConfig } from '../config';
import { problems } from '../problems';
import { findApi } from '../proxy/proxyRules';

const GRAPH_RESOURCE = 'https://graph.microsoft.com';

/**
 * The downstream APIs `/api/obo` may call: the configured ones that act for a user (not
 * `RequestAppToken`), and never the app's own API, which would exchange a token for itself
 * and call itself again.
 */
export function findOboApi(config: AppConfig, name: string | undefined): DownstreamApiConfig {
  const api = findApi(config.downstreamApis, name);
  if (api.requestAppToken) throw problems.api_unknown('That API is called with the app\'s own identity, which on-behalf-of does not use.');
  if (api.scopes.some((scope) => config.obo.audiences.some((audience) => scope.toLowerCase().startsWith(`${audience.toLowerCase()}/`)))) {
    throw problems.api_unknown('That API is this app\'s own, which on-behalf-of cannot call.');
  }
  return api;
}

/**
 * For an app-only caller (admitted by `Obo__RequiredAppRoles`) there is no user to act for: the
 * API is called with the app's own token for the same resource, `<resource>/.default`, as a
 * Microsoft.Identity.Web API does with GetAccessTokenForAppAsync. Graph's short scopes
 * (`User.Read`) name Microsoft Graph.
 */
export function appScopesFor(api: DownstreamApiConfig): string[] {
  // One resource per token request: the API's scopes all name the same one.
  const scope = api.scopes[0]!;
  const slash = scope.lastIndexOf('/');
  return [`${slash > 0 ? scope.slice(0, slash) : GRAPH_RESOURCE}/.default`];
}
