import type { INetworkModule, NetworkRequestOptions, NetworkResponse } from '@azure/msal-node';
import { ProblemError } from '../problems';
import { PROVIDER_TIMEOUT_MS, withTimeout } from '../deadline';
import { providerUnavailable } from './discovery';

/** Called before a token request goes out; may wait (a refresh lease) or throw to cancel it. */
export type BeforeTokenRequest = (body: URLSearchParams) => Promise<void>;

/**
 * MSAL's network client with a timeout on every call (MSAL's own has none on token requests),
 * bounded by the request's deadline. MSAL turns any error thrown here into its generic
 * `network_error`, so the real reason is kept in `failure` for the caller to answer with.
 */
export class TimedNetworkClient implements INetworkModule {
  failure: ProblemError | undefined;

  constructor(private readonly beforeTokenRequest?: BeforeTokenRequest) {}

  sendGetRequestAsync<T>(url: string, options?: NetworkRequestOptions): Promise<NetworkResponse<T>> {
    return this.send<T>(url, 'GET', options);
  }

  async sendPostRequestAsync<T>(url: string, options?: NetworkRequestOptions): Promise<NetworkResponse<T>> {
    if (this.beforeTokenRequest) {
      try {
        await this.beforeTokenRequest(new URLSearchParams(options?.body ?? ''));
      } catch (error) {
        throw this.keep(error);
      }
    }
    return this.send<T>(url, 'POST', options);
  }

  private async send<T>(url: string, method: 'GET' | 'POST', options?: NetworkRequestOptions): Promise<NetworkResponse<T>> {
    try {
      return await withTimeout('provider', PROVIDER_TIMEOUT_MS, async (signal) => {
        let response: Response;
        try {
          response = await fetch(url, { method, headers: options?.headers, body: method === 'POST' ? (options?.body ?? '') : undefined, signal });
        } catch (error) {
          // Stryker disable next-line ConditionalExpression: withTimeout answers an aborted call by its signal whatever is thrown here
          if (signal.aborted) throw error;
          throw providerUnavailable();
        }
        const headers: Record<string, string> = {};
        response.headers.forEach((value, name) => (headers[name] = value));
        const text = await response.text();
        let body: T;
        try {
          body = JSON.parse(text) as T;
        } catch {
          // An HTML error page from a gateway, a truncated answer: the provider is not answering properly.
          throw providerUnavailable(`The token endpoint answered ${response.status} without JSON.`);
        }
        return { headers, body, status: response.status };
      });
    } catch (error) {
      throw this.keep(error);
    }
  }

  private keep(error: unknown): unknown {
    if (error instanceof ProblemError) this.failure = error;
    return error;
  }
}
