/**
 * Concurrent callers asking for the same thing share one promise, per runtime (so two apps in
 * one process, as in tests, never share): the first caller starts the work, later ones join it
 * until it settles, and the next caller after that starts afresh.
 */
export class SingleFlight<Owner extends object, T> {
  private readonly byOwner = new WeakMap<Owner, Map<string, Promise<T>>>();

  run(owner: Owner, key: string, start: () => Promise<T>): Promise<T> {
    let inFlight = this.byOwner.get(owner);
    if (!inFlight) this.byOwner.set(owner, (inFlight = new Map()));
    const shared = inFlight.get(key);
    if (shared) return shared;
    const started = start();
    inFlight.set(key, started);
    const forget = () => {
      if (inFlight.get(key) === started) inFlight.delete(key);
    };
    started.then(forget, forget);
    return started;
  }
}
