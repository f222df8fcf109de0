import { SingleFlight } from '../../shared/singleFlight';

function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

test('callers of one key share one start while it runs; the next caller after it settles starts afresh', async () => {
  const flights = new SingleFlight<object, number>();
  const owner = {};
  const first = deferred<number>();
  let starts = 0;
  const start = () => (starts++, first.promise);
  const a = flights.run(owner, 'k', start);
  const b = flights.run(owner, 'k', start);
  expect(b).toBe(a);
  first.resolve(1);
  expect(await Promise.all([a, b])).toEqual([1, 1]);
  expect(await flights.run(owner, 'k', () => (starts++, Promise.resolve(2)))).toBe(2);
  expect(starts).toBe(2);
});

test('another key or another owner does not share; a failure is shared once, then forgotten', async () => {
  const flights = new SingleFlight<object, string>();
  const [one, two] = [{}, {}];
  const failing = deferred<string>();
  const a = flights.run(one, 'k', () => failing.promise);
  expect(flights.run(one, 'other', () => Promise.resolve('x'))).not.toBe(a);
  expect(flights.run(two, 'k', () => Promise.resolve('y'))).not.toBe(a);
  expect(flights.run(one, 'k', () => Promise.resolve('z'))).toBe(a);
  failing.reject(new Error('no'));
  await expect(a).rejects.toThrow('no');
  expect(await flights.run(one, 'k', () => Promise.resolve('again'))).toBe('again');
});
