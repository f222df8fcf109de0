import type { Runtime } from '../../shared/runtime';
import type { Provider } from '../../shared/auth/discovery';
import { linkForLogout } from '../../shared/session/logoutLinks';
import { partitionKeyFor } from '../../shared/tokenCache/tableStore';

/** The links a sign-in writes so that a logout notification finds the account's row. */
function setup() {
  const links: { kind: string; value: string; issuer: string; account: string; expiresOn: Date }[] = [];
  const runtime = {
    config: { session: { idleTimeoutSeconds: 3600, absoluteLifetimeSeconds: 86400 } },
    tokenCache: {
      writeLink: async (kind: string, value: string, issuer: string, account: string, expiresOn: Date) => {
        links.push({ kind, value, issuer, account, expiresOn });
      },
    },
  } as unknown as Runtime;
  return { runtime, links };
}
const provider = (backchannel: boolean) => ({ metadata: { issuer: 'https://meta.example', ...(backchannel ? { backchannel_logout_supported: true } : {}) } }) as unknown as Provider;

beforeEach(() => jest.useFakeTimers({ now: 1_800_000_000_000, doNotFake: ['nextTick', 'setImmediate', 'setTimeout', 'clearTimeout', 'queueMicrotask'] }));
afterEach(() => jest.useRealTimers());

test('a sid link under the token\'s issuer, kept for the absolute lifetime; a sub link only for back-channel providers', async () => {
  const { runtime, links } = setup();
  await linkForLogout(runtime, provider(true), { iss: 'https://token.example', sub: 'user-1' }, 'uid.utid', 'psid');
  const expiresOn = new Date((1_800_000_000 + 86400) * 1000);
  const account = partitionKeyFor('uid.utid');
  expect(links).toEqual([
    { kind: 'sid', value: 'psid', issuer: 'https://token.example', account, expiresOn },
    { kind: 'sub', value: 'user-1', issuer: 'https://token.example', account, expiresOn },
  ]);
});

test('no sid: no sid link; no back-channel support, a back-channel flag that is not true, or no sub: no sub link', async () => {
  let s = setup();
  await linkForLogout(s.runtime, provider(true), { iss: 'https://token.example', sub: 'user-1' }, 'uid.utid', undefined);
  expect(s.links.map((l) => l.kind)).toEqual(['sub']);
  s = setup();
  await linkForLogout(s.runtime, provider(false), { sub: 'user-1' }, 'uid.utid', 'psid');
  expect(s.links.map((l) => l.kind)).toEqual(['sid']);
  s = setup();
  await linkForLogout(s.runtime, { metadata: { issuer: 'x', backchannel_logout_supported: 'true' } } as unknown as Provider, { sub: 'user-1' }, 'uid.utid', undefined);
  expect(s.links).toEqual([]);
  s = setup();
  await linkForLogout(s.runtime, provider(true), { sub: 5 as unknown as string }, 'uid.utid', undefined);
  expect(s.links).toEqual([]);
});

test('a token without iss: the provider\'s issuer', async () => {
  const { runtime, links } = setup();
  await linkForLogout(runtime, provider(false), { iss: 7 as unknown as string }, 'uid.utid', 'psid');
  expect(links[0]!.issuer).toBe('https://meta.example');
});
