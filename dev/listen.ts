import type { AddressInfo, Server } from 'node:net';

/** Listens on 127.0.0.1 (0 picks a free port) and resolves with the port, or rejects with the listen error. */
export function listenOnLoopback(server: Server, port = 0): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}
