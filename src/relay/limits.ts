/** The failed-auth window is fixed at 60 s (SPEC §2). */
export const AUTH_FAIL_WINDOW_MS = 60_000;

/**
 * Sliding-log rate limiter per key (SPEC §7.8): at most `max` accepted events per `windowMs`.
 * `max` or `windowMs` of 0 disables it. Empty logs are dropped so memory stays bounded.
 */
export class RateLimiter {
  private readonly logs = new Map<string, number[]>();

  constructor(private readonly max: number, private readonly windowMs: number) {}

  get enabled(): boolean {
    return this.max > 0 && this.windowMs > 0;
  }

  /** Records an event and returns 0, or returns the whole seconds until a slot frees (≥ 1) without recording. */
  take(key: string, nowMs: number): number {
    if (!this.enabled) return 0;
    const log = this.prune(key, nowMs);
    if (log.length >= this.max) {
      return Math.max(1, Math.ceil((log[0]! + this.windowMs - nowMs) / 1000));
    }
    log.push(nowMs);
    this.logs.set(key, log);
    return 0;
  }

  private prune(key: string, nowMs: number): number[] {
    const log = this.logs.get(key) ?? [];
    let drop = 0;
    while (drop < log.length && log[drop]! <= nowMs - this.windowMs) drop++;
    if (drop) log.splice(0, drop);
    if (log.length === 0) this.logs.delete(key);
    return log;
  }

  /** Drops every log whose entries have all aged out. */
  sweep(nowMs: number): void {
    for (const key of [...this.logs.keys()]) this.prune(key, nowMs);
  }

  size(): number {
    return this.logs.size;
  }
}

export interface AuthFailure {
  windowStartMs: number;
  failures: number;
  adminFailures: number;
  /** The audit row of this window's admin failures, once written. */
  auditId: number | null;
}

/** Failed authentications per client IP in fixed 60 s windows (SPEC §7.8). */
export class AuthThrottle {
  private readonly table = new Map<string, AuthFailure>();

  constructor(private readonly max: number) {}

  private current(ip: string, nowMs: number): AuthFailure | undefined {
    const entry = this.table.get(ip);
    if (entry && nowMs - entry.windowStartMs >= AUTH_FAIL_WINDOW_MS) {
      this.table.delete(ip);
      return undefined;
    }
    return entry;
  }

  /** Seconds until this entry's window ends (ceil, ≥ 1): the Retry-After of a throttled request. */
  retryAfter(entry: AuthFailure, nowMs: number): number {
    return Math.max(1, Math.ceil((entry.windowStartMs + AUTH_FAIL_WINDOW_MS - nowMs) / 1000));
  }

  /** True once this window counted more failures than allowed (0 = throttle off). */
  isOver(entry: AuthFailure): boolean {
    return this.max > 0 && entry.failures > this.max;
  }

  /** Counts one failure and returns the window's entry (admin failures counted separately). */
  fail(ip: string, nowMs: number, admin: boolean): AuthFailure {
    let entry = this.current(ip, nowMs);
    if (!entry) {
      entry = { windowStartMs: nowMs, failures: 0, adminFailures: 0, auditId: null };
      this.table.set(ip, entry);
    }
    entry.failures++;
    if (admin) entry.adminFailures++;
    return entry;
  }

  sweep(nowMs: number): void {
    for (const ip of [...this.table.keys()]) this.current(ip, nowMs);
  }

  size(): number {
    return this.table.size;
  }
}
