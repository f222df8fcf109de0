import { ProblemError } from './problems';

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
