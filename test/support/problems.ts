import type { Server } from 'node:net';
import { ProblemError } from '../../shared/problems';

/** The problem a call fails with; any other error (or none) fails the test. */
export async function problemOf(promise: Promise<unknown>): Promise<ProblemError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof ProblemError) return error;
    throw error;
  }
  throw new Error('no problem thrown');
}

/** Closes a test's loopback server, its kept-alive connections included. */
export async function closeServer(server: (Server & { closeAllConnections?: () => void }) | undefined): Promise<void> {
  if (!server) return;
  server.closeAllConnections?.();
  await new Promise((resolve) => server.close(resolve));
}
