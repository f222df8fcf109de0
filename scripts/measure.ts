/**
 * Counts what each step of the data walk costs on the running local stack (real Azurite, dev
 * provider, demo API, local host): Table reads and writes, provider token requests, and the
 * proxy's latency next to the floor (a direct call to the demo API with a token in hand plus
 * one Table point read), measured in the same run. Prints its figures; asserts nothing.
 */
import '../dev/quietTestMode';
import { performance } from 'node:perf_hooks';
import { startLocalStack } from '../dev/stack';
import { partitionKeyFor } from '../shared/tokenCache/tableStore';
import { CookieJar, proxyCall, signIn } from '../test/support/browserless';
import { cacheTable, expireAccessTokens, homeAccountIdOf, readCacheRow } from '../test/support/cacheRows';

const CALLS = Number(process.argv[2] ?? 300);

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function main(): Promise<void> {
  const stack = await startLocalStack({ settings: {}, port: 0, log: () => {} });
  try {
    await cacheTable(stack).createTable();
    const runtime = await stack.runtime.get();
    const idp = stack.idp!;
    const snap = () => ({ ...runtime.tableCalls, token: idp.stats.requests.token });
    const diff = (a: ReturnType<typeof snap>, b: ReturnType<typeof snap>) =>
      `reads ${b.reads - a.reads}, writes ${b.writes - a.writes}, deletes ${b.deletes - a.deletes}, provider token requests ${b.token - a.token}`;

    const jar = new CookieJar();
    let before = snap();
    await signIn(stack.appUrl, jar);
    console.log(`sign-in:                          ${diff(before, snap())}`);

    before = snap();
    await proxyCall(stack.appUrl, jar, 'demo/profile');
    console.log(`first proxied call (new API):     ${diff(before, snap())}`);

    before = snap();
    const proxied: number[] = [];
    for (let i = 0; i < CALLS; i++) {
      const t = performance.now();
      const r = await proxyCall(stack.appUrl, jar, 'demo/profile');
      await r.arrayBuffer();
      proxied.push(performance.now() - t);
      if (r.status !== 200) throw new Error(`proxied call answered ${r.status}`);
    }
    const after = snap();
    console.log(`${CALLS} proxied calls, valid token: ${diff(before, after)}`);

    await expireAccessTokens(stack);
    before = snap();
    await proxyCall(stack.appUrl, jar, 'demo/profile');
    console.log(`proxied call that refreshes:      ${diff(before, snap())}`);

    // The floor: what any design must pay per call, a Table point read and the API call itself.
    const row = await readCacheRow(stack);
    const token = Object.values(row!.cache['AccessToken']!).find((t) => t['target']!.includes('demo-api'))!['secret']!;
    const table = cacheTable(stack);
    const pk = partitionKeyFor(homeAccountIdOf());
    const floor: number[] = [];
    for (let i = 0; i < CALLS; i++) {
      const t = performance.now();
      await table.getEntity(pk, 'msal');
      const r = await fetch(`${stack.demoApi!.url}/profile`, { headers: { authorization: `Bearer ${token}` } });
      await r.arrayBuffer();
      floor.push(performance.now() - t);
    }
    const p50 = percentile(proxied, 50);
    const f50 = percentile(floor, 50);
    console.log(`latency p50: proxy ${p50.toFixed(2)} ms, floor ${f50.toFixed(2)} ms, ratio ${(p50 / f50).toFixed(2)}`);
    console.log(`latency p95: proxy ${percentile(proxied, 95).toFixed(2)} ms, floor ${percentile(floor, 95).toFixed(2)} ms`);

    before = snap();
    const me = await fetch(`${stack.appUrl}/api/me`, { headers: { cookie: jar.header() } });
    const { logoutUrl } = (await me.json()) as { logoutUrl: string };
    await fetch(`${stack.appUrl}${logoutUrl}`, { headers: { cookie: jar.header() }, redirect: 'manual' });
    console.log(`sign-out:                         ${diff(before, snap())}`);
  } finally {
    await stack.close();
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(1);
});
