import { createServer, connect, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

/**
 * A TCP proxy on loopback in front of a dependency, which a test can make misbehave:
 * `pass` forwards, `blackhole` accepts and never answers (what a hung service looks like),
 * `refuse` drops every connection (a stopped service), `slow` delays every chunk by `delayMs`,
 * `corrupt` garbles every byte the dependency sends back (requests still reach it).
 * Works for HTTP and HTTPS alike (bytes only). Modes apply at once, to open connections too.
 */
export type FaultMode = 'pass' | 'blackhole' | 'refuse' | 'slow' | 'corrupt';

export interface FaultProxy {
  readonly port: number;
  readonly url: string;
  mode: FaultMode;
  delayMs: number;
  /** Connections accepted so far. */
  readonly connections: number;
  close(): Promise<void>;
}

/** `targetPort` may be a function: a target that starts after the proxy (it must know the proxy's port). */
export async function startFaultProxy(targetPort: number | (() => number), protocol: 'http' | 'https' = 'http'): Promise<FaultProxy> {
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  const state = { mode: 'pass' as FaultMode, delayMs: 0, connections: 0 };

  const relay = (from: Socket, to: Socket, answers: boolean) => {
    from.on('data', (chunk: Buffer) => {
      if (state.mode === 'refuse') {
        from.destroy();
        to.destroy();
      } else if (state.mode === 'pass' || (state.mode === 'corrupt' && !answers)) {
        to.write(chunk);
      } else if (state.mode === 'corrupt') {
        to.write(Buffer.from(chunk.map((byte) => byte ^ 0x5a)));
      } else if (state.mode === 'slow') {
        const timer = setTimeout(() => {
          timers.delete(timer);
          if (!to.destroyed) to.write(chunk);
        }, state.delayMs);
        timers.add(timer);
      }
      // blackhole: swallowed, nothing ever comes back
    });
    from.on('end', () => to.end());
    from.on('error', () => to.destroy());
    from.on('close', () => to.destroy());
  };

  const server: Server = createServer((client) => {
    state.connections++;
    if (state.mode === 'refuse') {
      client.destroy();
      return;
    }
    const upstream = connect(typeof targetPort === 'function' ? targetPort() : targetPort, '127.0.0.1');
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
    }
    relay(client, upstream, false);
    relay(upstream, client, true);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;

  return {
    port,
    url: `${protocol}://127.0.0.1:${port}`,
    get mode() {
      return state.mode;
    },
    set mode(mode: FaultMode) {
      state.mode = mode;
      if (mode === 'refuse') for (const s of sockets) s.destroy();
    },
    get delayMs() {
      return state.delayMs;
    },
    set delayMs(ms: number) {
      state.delayMs = ms;
    },
    get connections() {
      return state.connections;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const timer of timers) clearTimeout(timer);
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
