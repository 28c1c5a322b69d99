import { checkAddressing } from "./addressing.ts";
import { RelayError } from "./errors.ts";
import { agentScope, checkIdempotencyKey, DuplicateKey, keyRecord } from "./idempotency.ts";
import { pausedError } from "./loop-guard.ts";
import { memberList } from "./questions.ts";
import type { Relay } from "./relay.ts";
import { closedError } from "./rooms.ts";
import { joinThread, parseReplyTo } from "./threads.ts";
import type { Agent, IdempotencyRecord, InsertMessageInput, Message } from "./types.ts";
import { checkText, requireObject } from "./validate.ts";

/** What a commit needs besides the message itself. */
export interface CommitOptions {
  refuseIfClosed: boolean;
  maxRooms: number;
  byOperator: boolean;
  idempotency: IdempotencyRecord | null;
  /** The shared rate-limit slot, taken in the insert (stores with `takesRateInPost`). */
  rate?: InsertMessageInput["rate"];
}

/** ms until a rate-limit slot frees → whole seconds for `retry_after` (≥ 1), or 0 when one was taken. */
const retrySeconds = (ms: number): number => (ms > 0 ? Math.max(1, Math.ceil(ms / 1000)) : 0);

/** A message's content as the caller gave it, before the store assigns seq and time. */
export type Draft = Pick<InsertMessageInput, "room" | "from" | "to" | "text" | "expectsReply"> & Partial<Pick<InsertMessageInput, "replyTo" | "thread">>;

/**
 * The relay's write side for messages: a post's checks (text, addressing, thread, rate limit),
 * the commit through the store's group commit, and the wake-up one turn later, so the poster is
 * answered before the crowd its message wakes.
 */
export class Posting {
  private readonly pendingWakes = new Set<string>();

  constructor(private readonly relay: Relay) {}

  /** Validates `to` and `expects_reply` against the room's members (SPEC §5.5). */
  async addressing(room: string, toIn: unknown, expectsIn: unknown) {
    return checkAddressing(room, toIn, expectsIn, async () => memberList(await this.relay.store.participants(room, this.relay.clock.now())));
  }

  /**
   * `POST /messages` (SPEC §5.5), optionally under an `Idempotency-Key`. Throws 422, 409
   * `room_closed`, 429 `rate_limited` or `room_paused`, 403 quota, 422 `idempotency_key_reused`.
   */
  async post(agent: Agent, body: unknown, idempotencyKey: string | null = null): Promise<Message> {
    const key = checkIdempotencyKey(idempotencyKey);
    const b = requireObject(body);
    const text = checkText(b.text, this.relay.limits.maxText);
    const { to, expectsReply } = await this.addressing(agent.room, b.to, b.expects_reply);
    // No await without reply_to: every await on the post path shrinks the group-commit batches.
    const thread = b.reply_to === undefined || b.reply_to === null ? null : await this.threadFor(agent.room, b.reply_to, agent.name);
    const draft: Draft = { room: agent.room, from: agent.name, to, text, expectsReply, ...(thread ?? {}) };
    if (key === null) return this.postNow(agent, draft, null);
    const record = keyRecord(agentScope(agent.room, agent.name), key, body, this.relay.clock.now());
    return this.relay.idempotent(record, () => this.postNow(agent, draft, record));
  }

  private async postNow(agent: Agent, draft: Draft, idempotency: IdempotencyRecord | null): Promise<Message> {
    const key = `${agent.room}\u0000${agent.name}`;
    // A store that takes the shared slot inside the insert checks the room first there: one round trip.
    const rate = this.relay.shared && this.relay.rate.enabled && this.relay.store.takesRateInPost
      ? { key, max: this.relay.limits.rateMax, windowMs: this.relay.limits.rateWindow * 1000 } : null;
    // Otherwise checked before the rate limiter so a refused post spends no slot (SPEC §5.5); the
    // insert transaction checks again, and that check decides a post racing a close. Without a
    // rate limit there is no slot to protect, and the insert's answer is the same error.
    if (this.relay.rate.enabled && !rate) {
      const status = this.relay.tails.statusOf(agent.room) ?? await this.relay.store.getRoomStatus(agent.room);
      if (status.status === "closed") throw closedError(status);
    }
    const retry = rate ? 0 : await this.takeRate(key);
    if (retry > 0) throw this.rateLimited(retry);
    const message = await this.commit(draft, { refuseIfClosed: true, maxRooms: this.relay.limits.maxRooms, byOperator: false, idempotency, rate });
    this.relay.restartClock(agent.room, agent.name, this.relay.clock.now());
    this.relay.receiptViews.readOnPost(agent);
    return message;
  }

  /** `reply_to` → the thread fields of a draft; `viewer` null is the operator. Throws 422 `invalid`. */
  async threadFor(room: string, raw: unknown, viewer: string | null): Promise<{ replyTo: number | null; thread: number | null }> {
    const replyTo = parseReplyTo(raw);
    if (replyTo === null) return { replyTo: null, thread: null };
    return joinThread(replyTo, await this.relay.store.getMessage(room, replyTo), viewer);
  }

  /** One rate-limit slot for `key`: 0, or whole seconds until one frees (≥ 1). Across instances when shared. */
  private async takeRate(key: string): Promise<number> {
    const now = this.relay.clock.now();
    if (!this.relay.shared || !this.relay.rate.enabled) return this.relay.rate.take(key, now);
    return retrySeconds(await this.relay.shared.takeRate(key, now, this.relay.limits.rateMax, this.relay.limits.rateWindow * 1000));
  }

  /** The 429 of the per-agent send limit, counted. */
  private rateLimited(retry: number): RelayError {
    this.relay.metrics.count("rate_limited_total", 1, "post");
    return new RelayError("rate_limited", `Slow down: at most ${this.relay.limits.rateMax} messages per ${this.relay.limits.rateWindow} s; retry in ${retry} s.`, { retry_after: retry });
  }

  /**
   * Stores a message in one write transaction and wakes the room's polls. Throws 409
   * `room_closed` (when `refuseIfClosed`), 403 `forbidden` (room quota), 429 `room_paused`.
   */
  async commit(m: Draft, opts: CommitOptions): Promise<Message> {
    const result = await this.relay.store.insertMessage({
      ...m, replyTo: m.replyTo ?? null, thread: m.thread ?? null, nowMs: this.relay.clock.now(), refuseIfClosed: opts.refuseIfClosed, maxRooms: opts.maxRooms,
      retention: this.relay.limits.maxMessagesPerRoom, byOperator: opts.byOperator, loopGuard: this.relay.limits.loopGuard,
      idempotency: opts.idempotency, rate: opts.rate ?? null,
    });
    if (!result.ok) {
      if (result.reason === "rate_limited") throw this.rateLimited(retrySeconds(result.retryMs));
      if (result.reason === "room_closed") throw closedError(result.status);
      if (result.reason === "room_paused") throw pausedError(m.room, this.relay.limits.loopGuard);
      if (result.reason === "duplicate_key") throw new DuplicateKey();
      throw new RelayError("forbidden", `The room quota (${opts.maxRooms}) is full; no new rooms can start.`, { quota: "rooms" });
    }
    this.relay.tails.append(result.message, this.relay.limits.maxMessagesPerRoom, result.agentRun);
    this.relay.metrics.count("messages_posted_total", 1, opts.byOperator ? "operator" : "agent", m.room);
    this.wakeSoon(m.room);
    this.relay.changes.bump(m.room);
    return result.message;
  }

  /**
   * Announces a committed post one event-loop turn later, so the poster's answer is written
   * before the crowd it wakes is answered (a post waking 1,000 polls would otherwise wait for
   * all of them: each woken poll runs in a microtask ahead of the poster's). Rooms committed in
   * the same turn are announced once. A poll reading meanwhile sees the message in the tail.
   */
  private wakeSoon(room: string): void {
    if (this.pendingWakes.size === 0) setImmediate(this.flushWakes);
    if (this.pendingWakes.has(room)) return;
    this.pendingWakes.add(room);
    this.relay.changedAt.set(room, this.relay.metrics.now());
  }

  private readonly flushWakes = (): void => {
    for (const room of this.pendingWakes) {
      this.pendingWakes.delete(room);
      this.relay.roomChanged(room);
    }
  };
}
