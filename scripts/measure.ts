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
import { ageSessions, readSessionRecords } from '../test/support/sessionRows';
import { DEFAULT_USERS } from '../dev/idp';
import { percentile } from './bench/percentile';

const CALLS = Number(process.argv[2] ?? 300);

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
    await fetch(`${stack.appUrl}/api/me?slide=false`, { headers: { cookie: jar.header() } });
    console.log(`/api/me (slide=false):            ${diff(before, snap())}`);

    // Sliding renewal: more than half the idle window has passed since the last renewal.
    await ageSessions(stack, { idleSeconds: runtime.config.session.idleTimeoutSeconds / 2 + 60 });
    before = snap();
    await fetch(`${stack.appUrl}/api/me`, { headers: { cookie: jar.header() } });
    console.log(`/api/me with a sliding renewal:   ${diff(before, snap())}`);
    before = snap();
    await proxyCall(stack.appUrl, jar, 'demo/profile');
    console.log(`proxied call right after it:      ${diff(before, snap())}`);

    // Logout notifications: back-channel by sid (another browser's session), then front-channel.
    for (const kind of ['back-channel (sid)', 'front-channel (sid)', 'back-channel (sub)'] as const) {
      const other = new CookieJar();
      await signIn(stack.appUrl, other);
      const sessions = Object.values((await readSessionRecords(stack))!.sessions);
      const providerSid = sessions.sort((x, y) => y.started - x.started)[0]!.providerSid!;
      before = snap();
      if (kind === 'back-channel (sid)') await idp.controls.sendBackchannelLogout({ sid: providerSid });
      else if (kind === 'front-channel (sid)') await fetch(`${stack.appUrl}/api/logout/frontchannel?sid=${encodeURIComponent(providerSid)}`);
      else await idp.controls.sendBackchannelLogout({ sub: DEFAULT_USERS[0]!.sub });
      console.log(`${`logout notification, ${kind}:`.padEnd(34)}${diff(before, snap())}`);
      if (kind === 'back-channel (sub)') await signIn(stack.appUrl, jar);
    }

    // Row size: the account's serialized cache for 1, 3 and 10 downstream APIs (access tokens
    // signed by the dev provider, shaped like the demo API's), sealed with and without deflate.
    const cache = (await readCacheRow(stack))!.cache;
    const [demoKey, demoToken] = Object.entries(cache['AccessToken']!)[0]!;
    const claims = JSON.parse(Buffer.from(demoToken['secret']!.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;
    for (const apis of [1, 3, 10]) {
      const accessTokens: Record<string, Record<string, string>> = {};
      for (let i = 0; i < apis; i++) {
        const secret = await idp.controls.signLogoutToken({ ...claims, aud: `api://api-${i}`, scp: 'Data.Read', jti: `${i}-${Date.now()}` }, { typ: 'JWT' });
        accessTokens[`${demoKey}-${i}`] = { ...demoToken, secret, target: `api://api-${i}/Data.Read` };
      }
      const json = JSON.stringify({ ...cache, AccessToken: accessTokens });
      const pk = partitionKeyFor(homeAccountIdOf());
      const sealed = runtime.tokenCache.cipher.seal(pk, 'msal', json);
      const plainSealed = runtime.tokenCache.cipher.seal(pk, 'msal', json, 'never');
      console.log(`row cache, ${String(apis).padStart(2)} API(s): clear JSON ${json.length} B, sealed without compression ${plainSealed.length} B, sealed with compression ${sealed.length} B (${Math.round((100 * sealed.length) / plainSealed.length)}%)`);
    }

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
