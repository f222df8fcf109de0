/**
 * What `/api/obo` costs on the running local stack (real Azurite, dev provider, demo API, local
 * host): Table reads and writes and provider token requests per call, for one incoming token
 * called N times, for N different tokens, and through the proxy; latency next to a floor measured
 * in the same run (one Table point read plus a direct call to the demo API with a token in hand).
 * Prints its figures; asserts nothing. `npm run measure:obo -- 200`
 */
import '../dev/quietTestMode';
import { performance } from 'node:perf_hooks';
import { startLocalStack, OWN_API_AUDIENCE } from '../dev/stack';
import { DEFAULT_USERS, DEV_TENANT_ID } from '../dev/idp';
import { oboPartitionKey } from '../shared/obo/onBehalfOf';
import { CookieJar, proxyCall, signIn } from '../test/support/browserless';
import { cacheTable } from '../test/support/cacheRows';
import { percentile } from './bench/percentile';

const CALLS = Number(process.argv[2] ?? 200);

async function main(): Promise<void> {
  const stack = await startLocalStack({ settings: {}, port: 0, log: () => {}, obo: true, idp: { authority: 'tenant' } });
  try {
    await cacheTable(stack).createTable();
    const runtime = await stack.runtime.get();
    const idp = stack.idp!;
    const ada = DEFAULT_USERS[0]!;
    const snap = () => ({ ...runtime.tableCalls, token: idp.stats.requests.token, obo: idp.stats.grants.on_behalf_of });
    const diff = (a: ReturnType<typeof snap>, b: ReturnType<typeof snap>) =>
      `Table reads ${b.reads - a.reads}, writes ${b.writes - a.writes}; provider token requests ${b.token - a.token} (on-behalf-of ${b.obo - a.obo})`;
    const mint = () => {
      const now = Math.floor(Date.now() / 1000);
      return idp.controls.signLogoutToken(
        { iss: `${idp.issuer}/${DEV_TENANT_ID}/v2.0`, aud: OWN_API_AUDIENCE, sub: ada.sub, oid: ada.oid, tid: ada.tid, scp: 'access_as_user', azp: 'spa', iat: now, nbf: now, exp: now + 3600, uti: Math.random().toString(36).slice(2) },
        { typ: 'JWT' },
      );
    };
    const call = async (token: string) => {
      const r = await fetch(`${stack.appUrl}/api/obo/demo/profile`, { headers: { authorization: `Bearer ${token}` } });
      await r.arrayBuffer();
      if (r.status !== 200) throw new Error(`obo answered ${r.status}`);
    };

    const token = await mint();
    let before = snap();
    let t = performance.now();
    await call(token);
    const firstMs = performance.now() - t;
    console.log(`first call with a token (exchange):    ${diff(before, snap())}; ${firstMs.toFixed(1)} ms`);

    before = snap();
    const cached: number[] = [];
    for (let i = 0; i < CALLS; i++) {
      t = performance.now();
      await call(token);
      cached.push(performance.now() - t);
    }
    console.log(`${CALLS} more calls, same token:          ${diff(before, snap())}`);

    before = snap();
    const fresh: number[] = [];
    const tokens = await Promise.all(Array.from({ length: Math.min(CALLS, 50) }, () => mint()));
    for (const other of tokens) {
      t = performance.now();
      await call(other);
      fresh.push(performance.now() - t);
    }
    console.log(`${tokens.length} calls, each a new token:        ${diff(before, snap())}`);

    const jar = new CookieJar();
    await signIn(stack.appUrl, jar);
    await proxyCall(stack.appUrl, jar, 'obo/profile');
    before = snap();
    for (let i = 0; i < CALLS; i++) {
      const r = await proxyCall(stack.appUrl, jar, 'obo/profile');
      await r.arrayBuffer();
    }
    console.log(`${CALLS} calls, browser -> proxy -> obo: ${diff(before, snap())}`);

    // The floor: a Table point read of the row and the demo API called with the exchanged token in hand.
    const table = cacheTable(stack);
    const pk = oboPartitionKey(token);
    const row = await runtime.tokenCache.read(pk);
    const exchanged = Object.values((JSON.parse(row!.cache) as { AccessToken: Record<string, { secret: string }> }).AccessToken)[0]!.secret;
    const floor: number[] = [];
    for (let i = 0; i < CALLS; i++) {
      t = performance.now();
      await table.getEntity(pk, 'msal');
      const r = await fetch(`${stack.demoApi!.url}/profile`, { headers: { authorization: `Bearer ${exchanged}` } });
      await r.arrayBuffer();
      floor.push(performance.now() - t);
    }
    const p50 = percentile(cached, 50);
    const f50 = percentile(floor, 50);
    console.log(`latency p50: obo (cached) ${p50.toFixed(2)} ms, obo (new token, exchange) ${percentile(fresh, 50).toFixed(2)} ms, floor ${f50.toFixed(2)} ms, cached/floor ${(p50 / f50).toFixed(2)}`);
    console.log(`latency p95: obo (cached) ${percentile(cached, 95).toFixed(2)} ms, floor ${percentile(floor, 95).toFixed(2)} ms`);
  } finally {
    await stack.close();
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(1);
});
