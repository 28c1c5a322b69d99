import { RelayError } from "./errors.ts";

/**
 * Concurrent parked polls per agent (room, name), so one runaway script cannot hold thousands
 * of waiters in a room. `max` 0 disables the cap. Counted here, not in HTTP, so every transport
 * that parks (long-poll today, a stream or MCP wait later) shares one count. No I/O.
 */
export class PollSlots {
  private readonly held = new Map<string, number>();

  constructor(private readonly max: number) {}

  /**
   * Takes a slot for `key` and returns its release (idempotent). Throws 429 `too_many_polls`
   * with `retry_after` and `max_polls` when the agent already holds `max` parked polls.
   */
  take(key: string): () => void {
    if (this.max <= 0) return () => {};
    const n = this.held.get(key) ?? 0;
    if (n >= this.max) {
      throw new RelayError("too_many_polls", `You already have ${this.max} polls waiting; wait for one to answer before opening another.`, { retry_after: 1, max_polls: this.max });
    }
    this.held.set(key, n + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.held.get(key) ?? 1) - 1;
      if (left <= 0) this.held.delete(key);
      else this.held.set(key, left);
    };
  }

  /** Parked polls currently held for `key`. */
  heldBy(key: string): number {
    return this.held.get(key) ?? 0;
  }

  /** Agents holding at least one slot (bounded by the number of parked polls). */
  get agents(): number {
    return this.held.size;
  }
}
