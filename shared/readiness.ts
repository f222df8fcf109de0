import { describeForLog } from './errors';
import { ProblemError, problems } from './problems';
import type { Runtime } from './runtime';

export interface Readiness {
  readonly status: 'ok';
  readonly authority: string;
  readonly apis: readonly string[];
}

async function check(name: 'provider' | 'client_credential', work: () => Promise<unknown>): Promise<void> {
  try {
    await work();
  } catch (error) {
    const cause = error instanceof ProblemError ? error : undefined;
    // 503 whatever the cause (a probe reads "not ready"), keeping the cause's code and detail.
    throw problems.not_ready(cause?.detail ?? `${name}: ${describeForLog(error)}`, { check: name, cause: cause?.code ?? 'unexpected' });
  }
}

/**
 * Ready means someone could sign in: the configuration parsed (the runtime was built), the
 * provider's discovery document answered, and a client credential loaded. Both are cached
 * per process, so a probe costs no call to the provider or the vault once they have worked.
 */
export async function readiness(runtime: Runtime): Promise<Readiness> {
  await Promise.all([check('provider', () => runtime.providers.get()), check('client_credential', () => runtime.credentials.get())]);
  return { status: 'ok', authority: runtime.config.authority.kind, apis: [...runtime.config.downstreamApis.values()].map((a) => a.name) };
}
