import { startLocalStack, type LocalStack } from '../../dev/stack';
import type { Runtime } from '../../shared/runtime';
import { cacheTable } from './cacheRows';

/**
 * A second app instance over the same Azurite, provider and keys: its own module registry, so
 * its own runtime (MSAL clients, Table client, provider metadata, memory) and its own host on
 * another port, as a second Functions instance would be.
 */
export interface SecondInstance {
  readonly appUrl: string;
  getRuntime(): Promise<Runtime>;
  close(): Promise<void>;
}

export async function startSecondInstance(first: LocalStack): Promise<SecondInstance> {
  let stackModule!: typeof import('../../dev/stack');
  jest.isolateModules(() => {
    stackModule = require('../../dev/stack');
  });
  const second = await stackModule.startLocalStack({ settings: { ...first.settings }, port: 0, log: () => {} });
  if (second.embedded.length > 0) {
    await second.close();
    throw new Error(`the second instance started its own ${second.embedded.join(', ')}: it must share the first one's`);
  }
  return { appUrl: second.appUrl, getRuntime: () => second.runtime.get(), close: second.close };
}

/** A local stack with its table created, and a second instance over it; close() stops both. */
export async function startTwoInstances(): Promise<{ first: LocalStack; second: SecondInstance; close(): Promise<void> }> {
  const first = await startLocalStack({ settings: {}, port: 0, log: () => {} });
  try {
    await cacheTable(first).createTable();
    const second = await startSecondInstance(first);
    return { first, second, close: async () => { await second.close(); await first.close(); } };
  } catch (error) {
    await first.close();
    throw error;
  }
}
