import { randomBytes } from 'node:crypto';
import { startLocalStack, type LocalStack } from '../../dev/stack';
import { fromEntity, partitionKeyFor, ROW_KEY, toEntity } from '../../shared/tokenCache/tableStore';
import { RowCipher } from '../../shared/tokenCache/rowCipher';
import { CookieJar, proxyCall, send, signIn } from '../support/browserless';
import { cacheTable, homeAccountIdOf } from '../support/cacheRows';

/**
 * The token cache at rest, seen from outside with the plain Table client (anyone with Table
 * data access, the deploying principal included): no token in any property, rows bound to
 * their account, clear rows re-sealed, and keys rotated without a flag day.
 */
const key = () => randomBytes(32).toString('base64url');
const K1 = key();
const K2 = key();
let stack: LocalStack;

beforeAll(async () => {
  stack = await startLocalStack({ settings: { TokenCache__EncryptionKeys: K1 }, port: 0, log: () => {} });
  await cacheTable(stack).createTable();
});
afterAll(async () => {
  await stack?.close();
});

/** Restarts the app's runtime with other cache keys, as a redeployment would; the host keeps serving. */
function restartWithCacheKeys(keys: string): void {
  stack.restartRuntime({ ...stack.settings, TokenCache__EncryptionKeys: keys });
}

async function rawRow(username?: string): Promise<Record<string, unknown>> {
  return cacheTable(stack).getEntity<Record<string, unknown>>(partitionKeyFor(homeAccountIdOf(username)), ROW_KEY);
}

function tokensIn(cacheJson: string): string[] {
  const cache = JSON.parse(cacheJson) as Record<string, Record<string, { secret?: string }>>;
  return ['RefreshToken', 'AccessToken', 'IdToken'].flatMap((section) => Object.values(cache[section] ?? {}).map((e) => e.secret!));
}

test('the row read with the plain Table client holds no token, no claim and no MSAL structure', async () => {
  const jar = new CookieJar();
  await signIn(stack.appUrl, jar);
  expect((await proxyCall(stack.appUrl, jar, 'demo/profile')).status).toBe(200);
  const entity = await rawRow();
  const raw = JSON.stringify(entity);
  const cache = fromEntity(entity, new RowCipher([Buffer.from(K1, 'base64url')]))!;
  const tokens = tokensIn(cache);
  expect(tokens.length).toBeGreaterThanOrEqual(3);
  for (const token of tokens) {
    expect(raw).not.toContain(token);
    expect(raw).not.toContain(token.slice(0, 40));
  }
  // A JWT's shape (dots never occur in base64 ciphertext), not a bare `eyJ`, which random ciphertext can hold.
  expect(raw).not.toMatch(/RefreshToken|AccessToken|eyJ[\w-]+\.[\w-]+\.|ada@contoso|Ada Lovelace/);
  expect(entity['Format']).toBe('A256GCM');
  // Without the key, nothing opens it.
  expect(fromEntity(entity)).toBeUndefined();
  expect(fromEntity(entity, new RowCipher([randomBytes(32)]))).toBeUndefined();
});

test('a sealed cache copied into another account\'s row does not open there: that account reads as signed out', async () => {
  const ada = new CookieJar();
  const grace = new CookieJar();
  await signIn(stack.appUrl, ada);
  await signIn(stack.appUrl, grace, { username: 'grace@contoso.dev' });
  const adaRow = await rawRow();
  const graceRow = await rawRow('grace@contoso.dev');
  const copied: { partitionKey: string; rowKey: string; [k: string]: unknown } = { partitionKey: graceRow.partitionKey as string, rowKey: ROW_KEY, Chunks: adaRow['Chunks'], Format: adaRow['Format'] };
  for (let i = 0; i < (adaRow['Chunks'] as number); i++) copied[`Cache${i}`] = adaRow[`Cache${i}`];
  await cacheTable(stack).updateEntity(copied, 'Merge', { etag: graceRow.etag as string });
  const cipher = (await stack.runtime.get()).tokenCache.cipher;
  expect(fromEntity(await rawRow('grace@contoso.dev'), cipher)).toBeUndefined();
  expect(fromEntity(adaRow, cipher)).toBeDefined();

  const answer = await proxyCall(stack.appUrl, grace, 'demo/profile');
  expect(answer.status).toBe(401);
  expect(await answer.json()).toMatchObject({ code: 'session_ended', loginUrl: expect.any(String) });
  expect((await send(`${stack.appUrl}/api/me`, grace)).status).toBe(401);
  // Ada's own row is untouched.
  expect((await proxyCall(stack.appUrl, ada, 'demo/profile')).status).toBe(200);
  // Signing in again replaces the unreadable row.
  await signIn(stack.appUrl, grace, { username: 'grace@contoso.dev' });
  expect((await proxyCall(stack.appUrl, grace, 'demo/profile')).status).toBe(200);
});

test('a row written in clear (before encryption) is read, then re-written encrypted at once', async () => {
  const jar = new CookieJar();
  await signIn(stack.appUrl, jar);
  const sealed = await rawRow();
  const cipher = (await stack.runtime.get()).tokenCache.cipher;
  const cache = fromEntity(sealed, cipher)!;
  const clear: { partitionKey: string; rowKey: string; [k: string]: unknown } = { ...toEntity(sealed.partitionKey as string, cache, new Date(Date.now() + 3600_000)), Sessions: sealed['Sessions'] };
  delete clear['Format'];
  await cacheTable(stack).updateEntity(clear, 'Replace', { etag: sealed.etag as string });
  expect(JSON.stringify(await rawRow())).toContain(tokensIn(cache)[0]!);

  expect((await send(`${stack.appUrl}/api/me?slide=false`, jar)).status).toBe(200);
  const after = await rawRow();
  expect(after['Format']).toBe('A256GCM');
  for (const token of tokensIn(cache)) expect(JSON.stringify(after)).not.toContain(token);
  expect((await proxyCall(stack.appUrl, jar, 'demo/profile')).status).toBe(200);
});

test('key rotation: a new first key seals, the old one still opens, rows move to the new key; a retired key opens nothing', async () => {
  const jar = new CookieJar();
  await signIn(stack.appUrl, jar, { username: 'grace@contoso.dev' });
  const k1 = new RowCipher([Buffer.from(K1, 'base64url')]);
  const k2 = new RowCipher([Buffer.from(K2, 'base64url')]);
  expect(fromEntity(await rawRow('grace@contoso.dev'), k1)).toBeDefined();

  restartWithCacheKeys(`${K2},${K1}`);
  try {
    // Old rows open with the second key and are sealed again with the first.
    expect((await proxyCall(stack.appUrl, jar, 'demo/profile')).status).toBe(200);
    const moved = await rawRow('grace@contoso.dev');
    expect(fromEntity(moved, k2)).toBeDefined();
    expect(fromEntity(moved, k1)).toBeUndefined();

    // K1 retired: the moved row still opens.
    restartWithCacheKeys(K2);
    expect((await proxyCall(stack.appUrl, jar, 'demo/profile')).status).toBe(200);

    // A key nobody sealed with: the row reads as no tokens (401 with loginUrl), never 500.
    restartWithCacheKeys(key());
    const answer = await proxyCall(stack.appUrl, jar, 'demo/profile');
    expect(answer.status).toBe(401);
    expect(await answer.json()).toMatchObject({ loginUrl: expect.any(String) });
  } finally {
    restartWithCacheKeys(K1);
  }
});
