import type { ResponseCookie } from './session/cookies';

/**
 * Errors that reach a caller as RFC 9457 problem details. `code` is stable: clients and tests
 * switch on it; `title` is for humans; nothing here may carry a token, secret or cookie value.
 */
export class ProblemError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly title: string,
    readonly detail?: string,
    readonly extensions: Readonly<Record<string, unknown>> = {},
  ) {
    super(detail ? `${title}: ${detail}` : title);
    this.name = 'ProblemError';
  }

  /** Cookies the answer must still set or clear (never part of the body). */
  cookies: readonly ResponseCookie[] = [];

  withCookies(cookies: readonly ResponseCookie[]): this {
    this.cookies = cookies;
    return this;
  }
}

export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  code: string;
  detail?: string;
  [extension: string]: unknown;
}

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

export function problemBody(error: ProblemError): ProblemBody {
  return {
    ...error.extensions,
    type: `urn:token-handler:problem:${error.code}`,
    title: error.title,
    status: error.status,
    code: error.code,
    ...(error.detail ? { detail: error.detail } : {}),
  };
}

/** A setting that is missing or malformed; the message names it and never its value. */
export class ConfigurationError extends Error {
  constructor(readonly problems: readonly { setting: string; message: string }[]) {
    super(`Invalid configuration: ${problems.map((p) => `${p.setting}: ${p.message}`).join('; ')}`);
    this.name = 'ConfigurationError';
  }

  get settings(): string[] {
    return this.problems.map((p) => p.setting);
  }
}

export function configurationProblem(error: ConfigurationError): ProblemError {
  return new ProblemError(503, 'configuration_invalid', 'The app is not configured correctly', error.message, {
    settings: error.settings,
  });
}

/** A dependency (provider, Table Storage, Key Vault) failed or could not be reached. */
export function upstreamProblem(code: string, title: string, status = 502): ProblemError {
  return new ProblemError(status, code, title);
}

/** Names an unexpected error for a log line without its message, which might quote a token. */
export function describeForLog(error: unknown): string {
  if (error instanceof ProblemError) return `${error.code} (${error.status})`;
  if (error instanceof ConfigurationError) return error.message;
  if (error instanceof Error) {
    const code = (error as { errorCode?: unknown; code?: unknown }).errorCode ?? (error as { code?: unknown }).code;
    return typeof code === 'string' || typeof code === 'number' ? `${error.name} ${code}` : error.name;
  }
  return typeof error;
}
