/** How a parked wait ended. */
export type WakeReason = "woken" | "timeout" | "aborted";

/**
 * In-memory long-poll parking, keyed by room (or any channel name). Each key has a generation
 * counter; `park` only sleeps while the generation is still the one the caller saw, so a bump
 * between the caller's snapshot and its parking is never missed (SPEC §7.5). No I/O.
 */
export class Waiters {
  private readonly generations = new Map<string, number>();
  private readonly parked = new Map<string, Set<() => void>>();
  private total = 0;

  /** The current generation of `key` (0 before the first bump). */
  generation(key: string): number {
    return this.generations.get(key) ?? 0;
  }

  /** Increments the generation of `key` and wakes every waiter parked on it. */
  bump(key: string): void {
    this.generations.set(key, this.generation(key) + 1);
    const set = this.parked.get(key);
    if (!set) return;
    this.parked.delete(key);
    for (const wake of set) wake();
  }

  /** Bumps every key that has waiters (shutdown). */
  bumpAll(): void {
    for (const key of [...this.parked.keys()]) this.bump(key);
  }

  /** Number of waiters currently parked, all keys. */
  count(): number {
    return this.total;
  }

  /**
   * Sleeps until `key` moves past generation `seen`, `waitMs` passes, or `signal` aborts.
   * Resolves at once when the generation already moved. The waiter is always removed.
   */
  park(key: string, seen: number, waitMs: number, signal?: AbortSignal): Promise<WakeReason> {
    if (signal?.aborted) return Promise.resolve("aborted");
    if (this.generation(key) !== seen) return Promise.resolve("woken");
    if (waitMs <= 0) return Promise.resolve("timeout");
    const { promise, resolve } = Promise.withResolvers<WakeReason>();
    let set = this.parked.get(key);
    if (!set) this.parked.set(key, (set = new Set()));
    const waiterSet = set;
    let done = false;
    const finish = (reason: WakeReason) => {
      if (done) return;
      done = true;
      this.total--;
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      waiterSet.delete(wake);
      if (waiterSet.size === 0 && this.parked.get(key) === waiterSet) this.parked.delete(key);
      resolve(reason);
    };
    const wake = () => finish("woken");
    const onAbort = () => finish("aborted");
    const timer = setTimeout(() => finish("timeout"), waitMs);
    signal?.addEventListener("abort", onAbort, { once: true });
    waiterSet.add(wake);
    this.total++;
    return promise;
  }
}
