/**
 * The process under measurement for `npm run bench`: the app's handlers on the local host (no
 * embedded dependency: it gets the bench's Azurite, provider and demo API through its
 * settings), and a second local host with the floor and the peer (scripts/bench/peer.ts) as functions. It answers the bench over
 * the IPC channel with its own CPU time, memory and call counts, so the figures are this
 * process's alone.
 */
import '../../dev/quietTestMode';
import { startLocalStack } from '../../dev/stack';
import { trustCertificateAuthority } from '../../dev/tls';
import { meterHandlerCpu, startLocalFunctionsHost } from '../../dev/host';
import { createPeer, type PeerOptions } from './peer';
import { floorFunction, type FloorOptions } from './floor';

export type BenchRequest =
  | { readonly type: 'start'; readonly settings: Record<string, string>; readonly caCertPem: string; readonly peer: PeerOptions; readonly floor: FloorOptions }
  | { readonly type: 'stats'; readonly gc?: boolean };

export interface ProcessStats {
  readonly cpuMicros: number;
  readonly rss: number;
  readonly heapUsed: number;
  readonly table: { reads: number; writes: number; deletes: number; other: number };
  readonly keyVaultReads: number;
  readonly peerTable: { reads: number; writes: number };
  /** Per function (`floor`, `proxy`, `peer`): calls and the CPU spent inside their handlers (dev/host.ts `meterHandlerCpu`); `floor.api`: the floor's API call alone. */
  readonly handlerCpu: Record<string, { calls: number; cpuMicros: number }>;
}

function reply(message: unknown): void {
  process.send!(message);
}

async function main(): Promise<void> {
  const handlerCpu: Record<string, { calls: number; cpuMicros: number }> = {};
  const meter = (name: string, cpuMicros: number) => {
    const entry = (handlerCpu[name] ??= { calls: 0, cpuMicros: 0 });
    entry.calls++;
    entry.cpuMicros += cpuMicros;
  };
  meterHandlerCpu(meter);
  let stats: (() => ProcessStats) | undefined;
  let closeAll: (() => Promise<void>) | undefined;
  process.on('message', (raw) => {
    const request = raw as BenchRequest;
    if (request.type === 'start') {
      trustCertificateAuthority(request.caCertPem);
      (async () => {
        const stack = await startLocalStack({ settings: request.settings, port: 0, log: () => {} });
        if (stack.embedded.length > 0) throw new Error(`the measured process started its own ${stack.embedded.join(', ')}`);
        const runtime = await stack.runtime.get();
        const peer = createPeer(request.peer);
        const floor = await startLocalFunctionsHost({ functions: [floorFunction(request.floor, meter), peer.registration], port: 0, hostname: '127.0.0.1', log: () => {}, enableHttpStream: true });
        stats = () => {
          const cpu = process.cpuUsage();
          const memory = process.memoryUsage();
          return { cpuMicros: cpu.user + cpu.system, rss: memory.rss, heapUsed: memory.heapUsed, table: { ...runtime.tableCalls }, keyVaultReads: runtime.keyVault.reads, peerTable: { ...peer.tableCalls }, handlerCpu: structuredClone(handlerCpu) };
        };
        closeAll = async () => {
          await floor.close();
          await stack.close();
        };
        reply({ type: 'ready', appUrl: `http://127.0.0.1:${stack.host.port}`, peerUrl: `${floor.url}/api`, floorUrl: floor.url });
      })().catch((error: unknown) => {
        reply({ type: 'error', message: error instanceof Error ? error.message : String(error) });
      });
    } else if (request.type === 'stats') {
      if (request.gc) (globalThis as { gc?: () => void }).gc?.();
      reply({ type: 'stats', stats: stats?.() });
    }
  });
  process.on('disconnect', () => {
    void (closeAll?.() ?? Promise.resolve()).finally(() => process.exit(0));
  });
  reply({ type: 'loaded' });
}

void main();
