import { PURGE_MAX_PAGES, PURGE_PAGE_SIZE, PURGE_SCHEDULE, purgeExpired } from '../../shared/tokenCache/purge';
import type { TokenCacheTable } from '../../shared/tokenCache/tableStore';

/** The purge loop over pages of expired rows (the query itself runs against Azurite in test/integration/purge.test.ts). */
type Row = { partitionKey: string; rowKey: string; etag: string };

function table(pages: Row[][], stillThere: (row: Row) => boolean = () => true) {
  const asked: { now: Date; pageSize: number }[] = [];
  const deletes: string[] = [];
  let pagesRead = 0;
  const fake = {
    async *expiredPages(now: Date, pageSize: number) {
      asked.push({ now, pageSize });
      for (const page of pages) {
        pagesRead++;
        yield page;
      }
    },
    async delete(partitionKey: string, etag: string, rowKey: string) {
      deletes.push(`${partitionKey}/${rowKey}@${etag}`);
      return stillThere({ partitionKey, rowKey, etag });
    },
  };
  return { table: fake as unknown as TokenCacheTable, asked, deletes, pagesRead: () => pagesRead };
}

const rows = (prefix: string, n: number): Row[] => Array.from({ length: n }, (_, i) => ({ partitionKey: `${prefix}${i}`, rowKey: 'msal', etag: `e${i}` }));

test('every 15 minutes, pages of 100, at most 20 pages a run', () => {
  expect(PURGE_SCHEDULE).toBe('0 */15 * * * *');
  expect(PURGE_PAGE_SIZE).toBe(100);
  expect(PURGE_MAX_PAGES).toBe(20);
});

test('deletes each expired row with the ETag the query saw, and counts rows changed meanwhile as skipped', async () => {
  const t = table([rows('a', 2), [{ partitionKey: 'sid-x', rowKey: 'link', etag: 'l1' }]], (row) => row.partitionKey !== 'a1');
  const now = new Date('2026-12-02T00:00:00Z');
  expect(await purgeExpired(t.table, { now, pageSize: 7 })).toEqual({ deleted: 2, skipped: 1, pages: 2 });
  expect(t.asked).toEqual([{ now, pageSize: 7 }]);
  expect(t.deletes).toEqual(['a0/msal@e0', 'a1/msal@e1', 'sid-x/link@l1']);
});

test('defaults: now, the page size, and no rows is no work', async () => {
  const t = table([]);
  const before = Date.now();
  expect(await purgeExpired(t.table)).toEqual({ deleted: 0, skipped: 0, pages: 0 });
  expect(t.asked[0]!.pageSize).toBe(PURGE_PAGE_SIZE);
  expect(t.asked[0]!.now.getTime()).toBeGreaterThanOrEqual(before);
  expect(t.asked[0]!.now.getTime()).toBeLessThanOrEqual(Date.now());
});

test('stops after the page limit; the rest waits for the next run', async () => {
  const pages = Array.from({ length: 5 }, (_, i) => rows(`p${i}-`, 1));
  const t = table(pages);
  expect(await purgeExpired(t.table, { maxPages: 3 })).toEqual({ deleted: 3, skipped: 0, pages: 3 });
  expect(t.pagesRead()).toBe(3);
  const all = table(Array.from({ length: PURGE_MAX_PAGES + 2 }, (_, i) => rows(`q${i}-`, 1)));
  expect((await purgeExpired(all.table)).pages).toBe(PURGE_MAX_PAGES);
});
