/**
 * Waits on events, never on time: whatever a condition depends on (a log line, a request
 * received) calls `notify()`, and `until()` re-checks the condition then. A condition that
 * never comes true fails by the test's own timeout.
 */
export class Signal {
  private readonly waiters = new Set<() => void>();

  notify(): void {
    for (const waiter of [...this.waiters]) waiter();
  }

  until(condition: () => boolean): Promise<void> {
    if (condition()) return Promise.resolve();
    return new Promise((resolve) => {
      const waiter = (): void => {
        if (!condition()) return;
        this.waiters.delete(waiter);
        resolve();
      };
      this.waiters.add(waiter);
    });
  }
}
