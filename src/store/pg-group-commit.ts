import type { InsertMessageInput, InsertMessageResult } from "../relay/types.ts";
import { isPlain, type PgMessageQueries } from "./pg-messages.ts";

/** Told before a write that NOTIFYs a room (`expect`) and again when that write did not commit (`cancel`). */
export interface NotifyTracker {
  expect(room: string): void;
  cancel(room: string): void;
}

type Pending = { input: InsertMessageInput; resolve: (r: InsertMessageResult) => void; reject: (e: unknown) => void };

/**
 * The group commit of posts on PostgreSQL: one batch in flight at a time; posts that arrive
 * meanwhile form the next batch. Under load N posts cost one statement and one commit; alone,
 * a post waits one turn. A plain batch goes through argy_post_plain first; the posts of a room
 * it could not take follow through argy_post. Each post is answered as soon as its own
 * transaction committed, so a failure of the second never reports a post of the first as failed.
 */
export class PgGroupCommit {
  private pending: Pending[] = [];
  private flushing = false;

  /** `run` sends one query (waiting for the schema, mapping a lost connection to 503); `notifies` is asked at each batch. */
  constructor(
    private readonly messages: PgMessageQueries,
    private readonly run: <T>(query: () => Promise<T>) => Promise<T>,
    private readonly notifies: () => NotifyTracker,
  ) {}

  /** Queues the post for the next group commit; resolves once it is committed (or refused). */
  insert(input: InsertMessageInput): Promise<InsertMessageResult> {
    const { promise, resolve, reject } = Promise.withResolvers<InsertMessageResult>();
    this.pending.push({ input, resolve, reject });
    if (!this.flushing && this.pending.length === 1) setImmediate(() => void this.flush());
    return promise;
  }

  /** Writes everything queued, including what arrives meanwhile. */
  async drain(): Promise<void> {
    while (this.pending.length || this.flushing) {
      if (!this.flushing) await this.flush();
      else await new Promise((r) => setTimeout(r, 5));
    }
  }

  private async flush(): Promise<void> {
    if (this.flushing) return;
    this.flushing = true;
    try {
      while (this.pending.length) {
        const batch = this.pending;
        this.pending = [];
        await this.write(batch);
      }
    } finally {
      this.flushing = false;
    }
  }

  private async write(batch: Pending[]): Promise<void> {
    const notifies = this.notifies();
    const rooms = new Set(batch.map((p) => p.input.room));
    for (const room of rooms) notifies.expect(room);
    // Both functions notify only the rooms where something was written.
    const written = new Set<string>();
    const answer = (p: Pending, r: InsertMessageResult) => {
      if (r.ok) written.add(r.message.room);
      p.resolve(r);
    };
    let open = batch;
    try {
      if (batch.every((p) => isPlain(p.input))) {
        const first = await this.run(() => this.messages.insertPlain(batch.map((p) => p.input)));
        open = [];
        batch.forEach((p, i) => {
          const r = first[i];
          if (r) answer(p, r);
          else open.push(p);
        });
      }
      if (open.length) {
        const rest = await this.run(() => this.messages.insertGeneral(open.map((p) => p.input)));
        rest.forEach((r, i) => answer(open[i]!, r));
        open = [];
      }
    } catch (err) {
      for (const p of open) p.reject(err);
    }
    for (const room of rooms) if (!written.has(room)) notifies.cancel(room);
  }
}
