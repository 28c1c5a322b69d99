import { RelayError } from "./errors.ts";
import { leaseOver, parseTtl } from "./leases.ts";
import type { Relay } from "./relay.ts";
import type { Agent, ClaimResult, LapsedLease, Message } from "./types.ts";

/**
 * Claims as leases (issue 10): a claim holds a question for `ttl_s`; the holder renews or
 * releases it, and its reply (reply_to = seq, or a DM to the asker) completes it in the store.
 * An expired or released lease reopens the question: audit row, change feed, woken polls.
 */
export class Claims {
  constructor(private readonly relay: Relay) {}

  /** `POST /messages/{seq}/claim {ttl_s?}` in the order of SPEC §5.7. Throws 404, 422 `not_claimable` or `invalid` (ttl_s). */
  async claim(agent: Agent, seq: number, body?: unknown): Promise<ClaimResult> {
    const { relay } = this;
    const ttl = parseTtl(body, relay.limits.claimTtl);
    let m = await this.visible(agent, seq);
    if (leaseOver(m, relay.clock.now())) {
      await this.expire();
      m = await this.visible(agent, seq);
    }
    if (m.claimedBy !== null) return { won: m.claimedBy === agent.name, claimedBy: m.claimedBy, seq, leaseUntilMs: m.leaseUntilMs } as ClaimResult;
    const [resolved] = await relay.resolve(agent.room, [m]);
    if (m.from === agent.name || (resolved!.expectsReplyResolved !== "anyone" && resolved!.expectsReplyResolved !== agent.name)) {
      throw new RelayError("not_claimable", `Message ${seq} is not yours to claim (expects_reply_resolved is "${resolved!.expectsReplyResolved}").`, { seq });
    }
    const until = relay.clock.now() + ttl * 1000;
    const holder = (await relay.store.claimMessage(agent.room, seq, agent.name, until)) ?? agent.name;
    if (holder !== agent.name) {
      const now = await relay.store.getMessage(agent.room, seq);
      return { won: false, claimedBy: holder, seq, leaseUntilMs: now?.leaseUntilMs ?? null };
    }
    relay.tails.setClaim(agent.room, seq, holder, until);
    await relay.audit("claim", agent.name, agent.room, `seq=${seq}`);
    return { won: true, claimedBy: holder, seq, leaseUntilMs: until };
  }

  /** `…/claim/renew {ttl_s?}`: the holder moves its lease end to now + ttl_s. Throws 404, 409 `not_holder`, 422. */
  async renew(agent: Agent, seq: number, body?: unknown): Promise<{ seq: number; leaseUntilMs: number }> {
    const { relay } = this;
    const ttl = parseTtl(body, relay.limits.claimTtl);
    await this.expire();
    const m = await this.visible(agent, seq);
    const until = relay.clock.now() + ttl * 1000;
    if (!(await relay.store.renewLease(agent.room, seq, agent.name, until))) throw notHolder(m, agent.name);
    relay.tails.setClaim(agent.room, seq, agent.name, until);
    relay.changes.bump(agent.room);
    return { seq, leaseUntilMs: until };
  }

  /** `…/claim/release`: the holder gives the question back to anyone. Throws 404 or 409 `not_holder`. */
  async release(agent: Agent, seq: number): Promise<{ seq: number }> {
    const { relay } = this;
    await this.expire();
    const m = await this.visible(agent, seq);
    if (!(await relay.store.releaseLease(agent.room, seq, agent.name))) throw notHolder(m, agent.name);
    await this.reopened({ room: agent.room, seq, holder: agent.name }, m, "released");
    return { seq };
  }

  /** Ends every lease that ran out (the sweep, and lazily before lease decisions); returns how many. */
  async expire(): Promise<number> {
    const lapsed = await this.relay.store.expireLeases(this.relay.clock.now());
    for (const l of lapsed) await this.reopened(l, await this.relay.store.getMessage(l.room, l.seq), "expired");
    return lapsed.length;
  }

  private async reopened(l: LapsedLease, m: Message | null, why: "expired" | "released"): Promise<void> {
    const { relay } = this;
    relay.tails.invalidate(l.room);
    if (m) relay.reopens.note(m, l.holder, why);
    await relay.audit(why === "expired" ? "claim_expired" : "claim_released", l.holder, l.room, `seq=${l.seq}`);
    relay.roomChanged(l.room);
  }

  private async visible(agent: Agent, seq: number): Promise<Message> {
    const m = await this.relay.store.getMessage(agent.room, seq);
    if (!m || !(m.to === "all" || m.to === agent.name || m.from === agent.name)) {
      throw new RelayError("not_found", `There is no message ${seq} you can see in this room.`);
    }
    return m;
  }
}

function notHolder(m: Message, name: string): RelayError {
  const why = m.claimedBy === null
    ? m.lapsedBy === name ? `your claim on message ${m.seq} ${m.lapse}; claim it again if it is still open` : `message ${m.seq} is not claimed`
    : m.leaseUntilMs === null && m.claimedBy === name ? `your claim on message ${m.seq} is complete or permanent` : `message ${m.seq} is claimed by ${m.claimedBy}`;
  return new RelayError("not_holder", `Only the holder of a claim's lease may renew or release it: ${why}.`, { seq: m.seq, claimed_by: m.claimedBy });
}
