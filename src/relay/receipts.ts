import type { AccessCode, AgentCursor, Message, PosterRow, ReceiptMark, ReceiptTimes } from "./types.ts";

/**
 * Receipts (issue 10), derived from per-agent high-water marks instead of rows per message:
 * - delivered: a poll, the stream or MCP wait returned the message to the agent. The answer
 *   path only notes the agent's highest delivered seq in memory (DeliveryLog); one batched
 *   write per second records each advance as a mark (seq, time).
 * - read: the agent acked up to it (POST /messages/ack), or posted in the room after it had
 *   been delivered (a post reads everything delivered before it).
 * A message's delivered_at for agent X is the time of X's first mark at or above its seq, so
 * the cost is O(answers), never O(messages × agents).
 */

/** How long delivered marks wait in memory before their batched write. */
export const RECEIPT_FLUSH_MS = 1000;

/** One recipient's receipt of one message. */
export interface Receipt {
  name: string;
  deliveredMs: number | null;
  readMs: number | null;
}

/** A compact receipt summary (counts and names) for operator views and the dashboard. */
export interface ReceiptSummary {
  recipients: number;
  delivered: string[];
  read: string[];
}

/**
 * Who a message was for: a DM's one recipient; a broadcast's members as of the post (SPEC
 * §7.10: names that had posted before it, or held an unexpired code for the room at its time),
 * without the sender and the operator. Sorted.
 */
export function recipientsOf(m: Message, posters: PosterRow[], codes: AccessCode[]): string[] {
  if (m.to !== "all") return [m.to];
  const names = new Set<string>();
  for (const p of posters) if (p.room === m.room && p.firstSeq < m.seq) names.add(p.name);
  for (const c of codes) {
    if (c.room === m.room && c.createdMs <= m.tsMs && (c.expiresMs === null || c.expiresMs > m.tsMs)) names.add(c.name);
  }
  names.delete(m.from);
  names.delete("operator");
  return [...names].sort();
}

/** Each recipient's receipt from the marks' times; a recipient with no marks has neither. */
export function receiptsOf(recipients: string[], times: ReceiptTimes[]): Receipt[] {
  const byName = new Map(times.map((t) => [t.name, t]));
  return recipients.map((name) => ({ name, deliveredMs: byName.get(name)?.deliveredMs ?? null, readMs: byName.get(name)?.readMs ?? null }));
}

/** Counts and names from the agents' current positions (no times): what `/admin/state` shows per message. */
export function summarize(m: Message, recipients: string[], cursors: Map<string, AgentCursor>): ReceiptSummary {
  const delivered: string[] = [];
  const read: string[] = [];
  for (const name of recipients) {
    const c = cursors.get(name);
    if (!c) continue;
    if (c.seenSeq >= m.seq || c.readSeq >= m.seq) delivered.push(name);
    if (c.readSeq >= m.seq) read.push(name);
  }
  return { recipients: recipients.length, delivered, read };
}

/**
 * The answer path's memory of delivered and read advances, flushed in one batched write per
 * RECEIPT_FLUSH_MS (and on demand). Noting is O(1) and synchronous, so a broadcast that wakes
 * 1,000 parked polls adds no await and no write to any of them. Marks not yet flushed when the
 * process dies are lost (at most one second of delivered marks); the messages themselves are not.
 */
export class DeliveryLog {
  private readonly highest = new Map<string, number>();
  /** Highest read seq queued here, so an agent posting ten times after one delivery queues one mark. */
  private readonly readHighest = new Map<string, number>();
  private pending: ReceiptMark[] = [];
  private timer: ReturnType<typeof setTimeout> | null = null;
  private flushing: Promise<void> = Promise.resolve();

  constructor(private readonly write: (marks: ReceiptMark[]) => Promise<void>, private readonly onError: (err: unknown) => void) {}

  /** Notes that `seq` (and everything below it the agent may see) reached (room, name) at `atMs`. */
  delivered(room: string, name: string, seq: number, atMs: number): void {
    const key = `${room}\u0000${name}`;
    if (seq <= (this.highest.get(key) ?? 0)) return;
    this.highest.set(key, seq);
    this.queue({ room, name, kind: "delivered", seq, atMs });
  }

  /** The highest seq noted as delivered to (room, name) in this process, or null. */
  highestDelivered(room: string, name: string): number | null {
    return this.highest.get(`${room}\u0000${name}`) ?? null;
  }

  /** Remembers a durable delivered position learned from the store (after a restart; 0 = none), without a mark. */
  remember(room: string, name: string, seq: number): void {
    const key = `${room}\u0000${name}`;
    const known = this.highest.get(key);
    if (known === undefined || seq > known) this.highest.set(key, seq);
  }

  /** Queues a read advance (a post reads what was delivered before it); each seq is queued once. */
  read(room: string, name: string, seq: number, atMs: number): void {
    const key = `${room}\u0000${name}`;
    if (seq <= (this.readHighest.get(key) ?? 0)) return;
    this.readHighest.set(key, seq);
    this.queue({ room, name, kind: "read", seq, atMs });
  }

  private queue(mark: ReceiptMark): void {
    this.pending.push(mark);
    if (this.timer === null) {
      this.timer = setTimeout(() => void this.flush(), RECEIPT_FLUSH_MS);
      (this.timer as { unref?: () => void }).unref?.();
    }
  }

  /** Writes every queued mark in one batch; resolves once they (and any earlier batch) are stored. */
  flush(): Promise<void> {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    const batch = this.pending;
    this.pending = [];
    this.flushing = this.flushing.then(() => (batch.length ? this.write(batch) : undefined)).catch(this.onError);
    return this.flushing;
  }
}
