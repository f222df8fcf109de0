import type { ConfigurationError } from '../shared/errors';

/** What `npm start` prints for an invalid configuration: every problem on its own line. */
export function describeConfigurationError(error: ConfigurationError): string {
  const count = error.problems.length === 1 ? 'a problem' : `${error.problems.length} problems`;
  return [`The configuration has ${count} (settings come from the environment and local.settings.json "Values"):`, ...error.problems.map((p) => `  - ${p.setting}: ${p.message}`)].join('\n');
}
