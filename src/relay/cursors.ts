/**
 * One cursor-less reader per agent in this process: a newer `Relay.next` of the same
 * (room, name) ends the older one, so a client that retries a timed-out wait does not leave
 * a forgotten twin parked that would take the next messages from under it. No I/O.
 */
export class ActiveReaders {
  private readonly active = new Map<string, AbortController>();

  /** Registers a reader for `key`, aborting the previous one; its signal also follows `outer`. */
  begin(key: string, outer?: AbortSignal): { signal: AbortSignal; end: () => void } {
    this.active.get(key)?.abort();
    const ctl = new AbortController();
    this.active.set(key, ctl);
    const onOuter = () => ctl.abort();
    if (outer?.aborted) ctl.abort();
    else outer?.addEventListener("abort", onOuter, { once: true });
    return {
      signal: ctl.signal,
      end: () => {
        outer?.removeEventListener("abort", onOuter);
        if (this.active.get(key) === ctl) this.active.delete(key);
      },
    };
  }

  /** How many cursor-less readers are running. */
  count(): number {
    return this.active.size;
  }
}
