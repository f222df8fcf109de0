import { nextOccurrence, parseSchedule } from '../../dev/timers';

describe('NCRONTAB schedules on the local host', () => {
  const at = (iso: string) => new Date(iso);
  test.each([
    ['0 */15 * * * *', '2026-12-01T10:07:30Z', '2026-12-01T10:15:00.000Z'],
    ['0 */15 * * * *', '2026-12-01T10:45:00Z', '2026-12-01T11:00:00.000Z'],
    ['*/10 * * * * *', '2026-12-01T10:00:05Z', '2026-12-01T10:00:10.000Z'],
    ['0 30 9 * * 1-5', '2026-12-05T12:00:00Z', '2026-12-07T09:30:00.000Z'],
    ['0 0 0 1 1 *', '2026-12-01T00:00:00Z', '2027-01-01T00:00:00.000Z'],
    ['0 5,35 * * * *', '2026-12-01T10:06:00Z', '2026-12-01T10:35:00.000Z'],
  ])('%s after %s is %s', (schedule, after, expected) => {
    expect(nextOccurrence(schedule, at(after)).toISOString()).toBe(expected);
  });

  test.each(['* * * * *', '0 */0 * * * *', '0 61 * * * *', 'a b c d e f', '0 0 0 31 2 *'])('%j is refused', (schedule) => {
    expect(() => nextOccurrence(schedule, new Date())).toThrow();
  });

  test('fields parse to their values', () => {
    expect([...parseSchedule('0 */20 * * * *')[1]!]).toEqual([0, 20, 40]);
  });
});
