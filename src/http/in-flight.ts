/**
 * Requests the app is handling right now: from `onRequest` to the answer (the answer handed to
 * Bun, which for a stream is its first byte). Counted here rather than read from Bun's
 * `server.pendingRequests`, which drops a request the moment Bun aborts it (a request pipelined
 * behind an unfinished answer closes the connection) although its handler goes on and may
 * still write. Shutdown waits for this to reach zero before closing the store; the
 * `http_requests_in_flight` gauge shows it.
 */
export class InFlight {
  private n = 0;
  private idlers: (() => void)[] = [];

  get count(): number {
    return this.n;
  }

  begin(): void {
    this.n++;
  }

  end(): void {
    if (this.n > 0) this.n--;
    if (this.n === 0 && this.idlers.length) for (const wake of this.idlers.splice(0)) wake();
  }

  /** Resolves true once nothing is in flight, or false after `ms` with requests still running. */
  async idle(ms: number): Promise<boolean> {
    if (this.n === 0) return true;
    const { promise, resolve } = Promise.withResolvers<boolean>();
    const wake = () => resolve(true);
    this.idlers.push(wake);
    const timer = setTimeout(() => {
      this.idlers = this.idlers.filter((w) => w !== wake);
      resolve(false);
    }, ms);
    try {
      return await promise;
    } finally {
      clearTimeout(timer);
    }
  }
}
