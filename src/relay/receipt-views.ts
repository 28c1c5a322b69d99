import { RelayError } from "./errors.ts";
import { receiptsOf, recipientsOf, type Receipt } from "./receipts.ts";
import type { Relay } from "./relay.ts";
import type { Agent, Message } from "./types.ts";

/**
 * Receipts as agents and the operator read them (always after flushing the marks noted in this
 * process), and the read a post implies. The rules are in receipts.ts.
 */
export class ReceiptViews {
  constructor(private readonly relay: Relay) {}

  /**
   * `GET /messages/{seq}/receipts`: for everyone the message was for (DM: one; broadcast: the
   * room's members as of the post), when it was delivered and read. Any agent that may see the
   * message may ask. Throws 404 `not_found`.
   */
  async forAgent(agent: Agent, seq: number): Promise<{ seq: number; receipts: Receipt[] }> {
    const m = await this.relay.store.getMessage(agent.room, seq);
    if (!m || !(m.to === "all" || m.to === agent.name || m.from === agent.name)) {
      throw new RelayError("not_found", `There is no message ${seq} you can see in this room.`);
    }
    return { seq, receipts: await this.ofMessage(m) };
  }

  /** Receipts of a stored message, for its sender and the operator. */
  async ofMessage(m: Message): Promise<Receipt[]> {
    const { store } = this.relay;
    await this.relay.flushReceipts();
    const [posters, codes, times] = await Promise.all([store.listPosters(), store.listCodes(), store.receiptTimes(m.room, m.seq)]);
    return receiptsOf(recipientsOf(m, posters, codes), times);
  }

  /** `seen_by` of `agent`'s own messages among `messages`: how many of each one's recipients read it, by seq. */
  async seenBy(agent: Agent, messages: Message[]): Promise<Map<number, number>> {
    const own = messages.filter((m) => m.from === agent.name);
    const seen = new Map<number, number>();
    if (!own.length) return seen;
    const { store } = this.relay;
    await this.relay.flushReceipts();
    const [posters, codes, cursors] = await Promise.all([store.listPosters(), store.listCodes(), store.listCursors(agent.room)]);
    const readSeq = new Map(cursors.map((c) => [c.name, c.readSeq]));
    for (const m of own) seen.set(m.seq, recipientsOf(m, posters, codes).filter((n) => (readSeq.get(n) ?? 0) >= m.seq).length);
    return seen;
  }

  /**
   * A post reads everything delivered to its author before it. Never awaited by the post: an
   * extra await per post would split the group commit into smaller batches.
   */
  readOnPost(agent: Agent): void {
    const { room, name } = agent;
    const { deliveries } = this.relay;
    const now = this.relay.clock.now();
    const seen = deliveries.highestDelivered(room, name);
    if (seen !== null) return deliveries.read(room, name, seen, now);
    // First post of this agent since the process started: its delivered mark is in the store.
    void this.relay.store.getCursor(room, name).then((c) => {
      deliveries.remember(room, name, c.seenSeq);
      deliveries.read(room, name, deliveries.highestDelivered(room, name) ?? 0, now);
    }, (error) => this.relay.emit({ kind: "receipts_failed", error }));
  }
}
