import { ChangeFeed } from "./changes.ts";
import { Credentials } from "./credentials.ts";
import { closedError } from "./rooms.ts";
import { invalid, RelayError } from "./errors.ts";
import { checkAddressing } from "./addressing.ts";
import { round1, type PollBudget } from "./budget.ts";

export type { ClaimResult, PollBudget, PollResult, ReadMessage, RelayDeps, RelayEvent, RelayLimits, StreamEvent };
import { AuthThrottle, RateLimiter } from "./limits.ts";
import { Presence, PRESENCE_TTL_MS } from "./presence.ts";
import { compareText, memberList } from "./questions.ts";
import { RoomTails } from "./tail.ts";
import type {
  Agent, ClaimResult, IdempotencyRecord, InsertMessageInput, Message, PollResult, ReadMessage, RelayDeps, RelayEvent, RelayLimits,
  RoomStatus, Store, Bus, Clock, SharedState,
} from "./types.ts";

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
import { checkText, requireObject } from "./validate.ts";
import { Waiters } from "./waiters.ts";
import { ActiveReaders } from "./cursors.ts";
import { PollSlots } from "./poll-slots.ts";
import { NO_METRICS, type Metrics } from "./metrics.ts";
import { Claims } from "./claims.ts";
import { agentScope, checkIdempotencyKey, DuplicateKey, IDEMPOTENCY_WINDOW_MS, InFlightKeys, keyRecord, postOnce } from "./idempotency.ts";
import { ReopenBoard } from "./leases.ts";
import { pausedError } from "./loop-guard.ts";
import { DeliveryLog } from "./receipts.ts";
import { ReceiptViews } from "./receipt-views.ts";
import { joinThread, parseReplyTo } from "./threads.ts";
import { follow, StreamSlots, type FollowSource, type StreamEvent } from "./stream.ts";
import { Reading } from "./reading.ts";

/**
 * The relay: authentication, posting, long-poll reads, claims and history for agents
 * (SPEC §5, §7). Operator actions live in Operator, which shares this instance's state.
 */
export class Relay {
  readonly store: Store;
  readonly clock: Clock;
  readonly limits: RelayLimits;
  readonly waiters = new Waiters();
  readonly readers = new ActiveReaders();
  readonly tails = new RoomTails();
  readonly streams: StreamSlots;
  readonly presence: Presence;
  readonly changes: ChangeFeed;
  readonly rate: RateLimiter;
  readonly throttle: AuthThrottle;
  readonly pollSlots: PollSlots;
  readonly metrics: Metrics;
  readonly claims: Claims;
  readonly reopens = new ReopenBoard();
  readonly deliveries: DeliveryLog;
  readonly receiptViews = new ReceiptViews(this);
  readonly inFlightKeys = new InFlightKeys();
  readonly credentials = new Credentials(this);
  /** Long-poll reads and the durable-cursor read (SPEC §5.6, §7.5). */
  readonly reading = new Reading(this);
  private readonly bus: Bus;
  /** Set when several instances share the database: rate, presence, clocks, throttle and token go through it. */
  readonly shared: SharedState | undefined;
  /** When each room last changed (metrics clock), for the wake latency of the polls it wakes. */
  readonly changedAt = new Map<string, number>();
  private readonly pendingWakes = new Set<string>();
  private readonly onEvent: (event: RelayEvent) => void;
  adminToken: string;
  private closing = false;

  constructor(deps: RelayDeps) {
    this.store = deps.store;
    this.clock = deps.clock;
    this.limits = deps.limits;
    this.bus = deps.bus;
    this.shared = deps.shared;
    this.adminToken = deps.adminToken;
    this.onEvent = deps.onEvent ?? (() => {});
    this.streams = new StreamSlots(deps.limits.maxStreamsPerAgent);
    this.presence = new Presence(deps.limits.onlineWindow * 1000);
    this.changes = new ChangeFeed(this.waiters);
    this.rate = new RateLimiter(deps.limits.rateMax, deps.limits.rateWindow * 1000);
    this.throttle = new AuthThrottle(deps.limits.authFailMax);
    this.pollSlots = new PollSlots(deps.limits.maxPollsPerAgent);
    this.metrics = deps.metrics ?? NO_METRICS;
    this.metrics.sample("polls_parked", () => this.waiters.count());
    this.metrics.sample("streams_open", () => this.streams.count());
    this.claims = new Claims(this);
    this.deliveries = new DeliveryLog(async (marks) => {
      await this.store.recordReceipts(marks);
      // Operator views show receipts: one change per room per batch, at most once a second.
      for (const room of new Set(marks.map((m) => m.room))) this.changes.bump(room);
    }, (error) => this.emit({ kind: "receipts_failed", error }));
    this.bus.subscribe((room, remote) => {
      if (room === null) {
        this.tails.invalidateAll();
        this.waiters.bumpAll();
        this.changes.bump();
        return;
      }
      if (remote) {
        this.tails.invalidate(room);
        this.changedAt.set(room, this.metrics.now());
        // Operator views on this instance show the other instance's change too.
        this.changes.bump(room);
      }
      this.waiters.bump(room);
    });
  }

  emit(event: RelayEvent): void {
    this.onEvent(event);
  }

  /**
   * Resolves an `Authorization` header to its agent and touches presence. Throws 401, or 429 when
   * throttled. `ip` may be a function: the address is only needed when the code is wrong.
   */
  async authenticate(header: string | null, ip: string | (() => string)): Promise<Agent> {
    const agent = await this.credentials.lookUp(header);
    if (!agent) return this.credentials.failed(typeof ip === "string" ? ip : ip(), "agent");
    await this.touch(agent.room, agent.name, true, agent.capabilities);
    return agent;
  }

  /** Checks `X-Admin-Token` in constant time. Throws 401, or 429 when throttled. */
  authenticateAdmin(token: string | null, ip: string): Promise<void> {
    return this.credentials.admin(token, ip);
  }

  /**
   * `/metrics`: the admin token when `X-Admin-Token` is sent, else `Authorization: Bearer
   * <metricsToken>` when one is configured (both in constant time). Throws 401, or 429 when throttled.
   */
  authenticateMetrics(adminHeader: string | null, authorization: string | null, metricsToken: string, ip: string): Promise<void> {
    return this.credentials.metrics(adminHeader, authorization, metricsToken, ip);
  }

  /** Records (room, name) as seen; the first sight of an agent is audited as `connect` (the only case that returns a promise). */
  touch(room: string, name: string, audited: boolean, capabilities = ""): Promise<void> | undefined {
    const now = this.clock.now();
    const change = this.presence.touch(room, name, now);
    if (change === "new" && this.shared) return this.firstSightShared(room, name, now, audited, capabilities);
    this.shared?.recordSeen(room, name, now);
    if (!change) return undefined;
    if (change === "new" && audited) {
      this.emit({ kind: "connect", room, name });
      return this.audit("connect", name, room, capabilities);
    }
    this.changes.bump(room);
    return undefined;
  }

  /** First sight in this instance: `connect` is audited only when no instance had seen the agent. */
  private async firstSightShared(room: string, name: string, now: number, audited: boolean, capabilities: string): Promise<void> {
    if ((await this.shared!.firstSight(room, name, now)) && audited) {
      this.emit({ kind: "connect", room, name });
      return this.audit("connect", name, room, capabilities);
    }
    this.changes.bump(room);
  }

  /**
   * Shared state only: merges what every instance recorded (last seen, idle clocks) into this
   * instance's presence, so `/peers`, the roster and stats agree across instances.
   */
  async syncPresence(room: string | null = null): Promise<void> {
    if (!this.shared) return;
    const now = this.clock.now();
    for (const row of await this.shared.loadPresence(room, now - PRESENCE_TTL_MS)) this.presence.merge(row, now);
  }

  /** Restarts the agent's idle clock (a post or a delivery), here and, when shared, for every instance. */
  restartClock(room: string, name: string, now: number): void {
    this.presence.restartClock(room, name, now);
    this.shared?.recordClock(room, name, now, true);
  }

  /** Appends an audit row (capped at MAX_AUDIT) and tells operator views. */
  async audit(action: string, actor: string, room: string, detail: string): Promise<void> {
    await this.store.insertAudit({ tsMs: this.clock.now(), action, actor, room, detail }, this.limits.maxAudit);
    this.changes.bump(room || null);
  }

  /** `/peers`: presence of the caller's room, with each name's active capabilities. */
  async peers(agent: Agent) {
    await this.syncPresence(agent.room);
    const now = this.clock.now();
    const codes = (await this.store.listCodes()).filter((c) => c.room === agent.room && (c.expiresMs === null || c.expiresMs > now));
    return this.presence.list(agent.room)
      .sort((a, b) => compareText(a.name, b.name))
      .map((e) => ({
        name: e.name,
        online: this.presence.isOnline(e, now),
        secondsSinceSeen: round1((now - e.seenMs) / 1000),
        capabilities: codes.find((c) => c.name === e.name)?.capabilities ?? "",
      }));
  }

  /** Validates `to` and `expects_reply` against the room's members (SPEC §5.5). */
  async addressing(room: string, toIn: unknown, expectsIn: unknown) {
    return checkAddressing(room, toIn, expectsIn, async () => memberList(await this.store.participants(room, this.clock.now())));
  }

  /**
   * `POST /messages` (SPEC §5.5), optionally under an `Idempotency-Key`. Throws 422, 409
   * `room_closed`, 429 `rate_limited` or `room_paused`, 403 quota, 422 `idempotency_key_reused`.
   */
  async post(agent: Agent, body: unknown, idempotencyKey: string | null = null): Promise<Message> {
    const key = checkIdempotencyKey(idempotencyKey);
    const b = requireObject(body);
    const text = checkText(b.text, this.limits.maxText);
    const { to, expectsReply } = await this.addressing(agent.room, b.to, b.expects_reply);
    // No await without reply_to: every await on the post path shrinks the group-commit batches.
    const thread = b.reply_to === undefined || b.reply_to === null ? null : await this.threadFor(agent.room, b.reply_to, agent.name);
    const draft: Draft = { room: agent.room, from: agent.name, to, text, expectsReply, ...(thread ?? {}) };
    if (key === null) return this.postNow(agent, draft, null);
    const record = keyRecord(agentScope(agent.room, agent.name), key, body, this.clock.now());
    return this.idempotent(record, () => this.postNow(agent, draft, record));
  }

  private async postNow(agent: Agent, draft: Draft, idempotency: IdempotencyRecord | null): Promise<Message> {
    // Checked before the rate limiter so a refused post spends no slot (SPEC §5.5); the insert
    // transaction checks again, and that check decides a post racing a close. Without a rate
    // limit there is no slot to protect, and the insert's answer is the same error.
    const key = `${agent.room}\u0000${agent.name}`;
    // A store that takes the shared slot inside the insert checks the room first there: one round trip.
    const rate = this.shared && this.rate.enabled && this.store.takesRateInPost
      ? { key, max: this.limits.rateMax, windowMs: this.limits.rateWindow * 1000 } : null;
    if (this.rate.enabled && !rate) {
      const status = this.tails.statusOf(agent.room) ?? await this.store.getRoomStatus(agent.room);
      if (status.status === "closed") throw closedError(status);
    }
    const retry = rate ? 0 : await this.takeRate(key);
    if (retry > 0) throw this.rateLimited(retry);
    const message = await this.commit(draft, { refuseIfClosed: true, maxRooms: this.limits.maxRooms, byOperator: false, idempotency, rate });
    this.restartClock(agent.room, agent.name, this.clock.now());
    this.receiptViews.readOnPost(agent);
    return message;
  }

  /** `reply_to` → the thread fields of a draft; `viewer` null is the operator. Throws 422 `invalid`. */
  async threadFor(room: string, raw: unknown, viewer: string | null): Promise<{ replyTo: number | null; thread: number | null }> {
    const replyTo = parseReplyTo(raw);
    if (replyTo === null) return { replyTo: null, thread: null };
    return joinThread(replyTo, await this.store.getMessage(room, replyTo), viewer);
  }

  /** Posts once per idempotency key (see `postOnce`). */
  idempotent(record: IdempotencyRecord, first: () => Promise<Message>): Promise<Message> {
    return postOnce(this.store, this.inFlightKeys, record, first);
  }

  /** One rate-limit slot for `key`: 0, or whole seconds until one frees (≥ 1). Across instances when shared. */
  private async takeRate(key: string): Promise<number> {
    const now = this.clock.now();
    if (!this.shared || !this.rate.enabled) return this.rate.take(key, now);
    return retrySeconds(await this.shared.takeRate(key, now, this.limits.rateMax, this.limits.rateWindow * 1000));
  }

  /** The 429 of the per-agent send limit, counted. */
  private rateLimited(retry: number): RelayError {
    this.metrics.count("rate_limited_total", 1, "post");
    return new RelayError("rate_limited", `Slow down: at most ${this.limits.rateMax} messages per ${this.limits.rateWindow} s; retry in ${retry} s.`, { retry_after: retry });
  }

  /**
   * Stores a message in one write transaction and wakes the room's polls. Throws 409
   * `room_closed` (when `refuseIfClosed`), 403 `forbidden` (room quota), 429 `room_paused`.
   */
  async commit(m: Draft, opts: CommitOptions): Promise<Message> {
    const result = await this.store.insertMessage({
      ...m, replyTo: m.replyTo ?? null, thread: m.thread ?? null, nowMs: this.clock.now(), refuseIfClosed: opts.refuseIfClosed, maxRooms: opts.maxRooms,
      retention: this.limits.maxMessagesPerRoom, byOperator: opts.byOperator, loopGuard: this.limits.loopGuard,
      idempotency: opts.idempotency, rate: opts.rate ?? null,
    });
    if (!result.ok) {
      if (result.reason === "rate_limited") throw this.rateLimited(retrySeconds(result.retryMs));
      if (result.reason === "room_closed") throw closedError(result.status);
      if (result.reason === "room_paused") throw pausedError(m.room, this.limits.loopGuard);
      if (result.reason === "duplicate_key") throw new DuplicateKey();
      throw new RelayError("forbidden", `The room quota (${opts.maxRooms}) is full; no new rooms can start.`, { quota: "rooms" });
    }
    this.tails.append(result.message, this.limits.maxMessagesPerRoom, result.agentRun);
    this.metrics.count("messages_posted_total", 1, opts.byOperator ? "operator" : "agent", m.room);
    this.wakeSoon(m.room);
    this.changes.bump(m.room);
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
    this.changedAt.set(room, this.metrics.now());
  }

  private readonly flushWakes = (): void => {
    for (const room of this.pendingWakes) {
      this.pendingWakes.delete(room);
      this.bus.roomChanged(room);
    }
  };

  /** Announces a change of `room` that is no new message (a lapsed lease, a resume): wakes its polls. */
  roomChanged(room: string): void {
    this.bus.roomChanged(room);
  }

  /** Sets a room's status durably and wakes every poll of the room. */
  async setRoomStatus(status: RoomStatus): Promise<void> {
    await this.store.setRoomStatus(status);
    this.tails.setStatus(status);
    this.changedAt.set(status.name, this.metrics.now());
    this.bus.roomChanged(status.name);
  }

  /**
   * `GET /messages` (SPEC §5.6, §7.5; see Reading.read): answers at once when there is something
   * to say, else parks until the room changes, the deadline passes or `signal` aborts (then null).
   */
  read(agent: Agent, since: number, waitSeconds: number, signal?: AbortSignal): Promise<PollResult | null> {
    return this.reading.read(agent, since, waitSeconds, signal);
  }

  /** A read from the agent's durable delivered position (MCP `wait`, attach; see Reading.next). */
  next(agent: Agent, waitSeconds: number, signal?: AbortSignal): Promise<PollResult | null> {
    return this.reading.next(agent, waitSeconds, signal);
  }

  /** The idle safety valve of SPEC §7.6. */
  budget(waited: number, quiet: number, status: RoomStatus): PollBudget {
    return this.reading.budget(waited, quiet, status);
  }

  /** Adds `expects_reply_resolved` to messages of one room. */
  resolve(room: string, messages: Message[]): Promise<ReadMessage[]> {
    return this.reading.resolve(room, messages);
  }

  /**
   * `GET /messages/stream` (issue 8): every message visible to `agent` after `since`, then live,
   * with the poll's Invariant N; `room` events when the exit advice changes; `idle` after
   * `idleMs` of silence. Takes one of the agent's stream slots (the oldest is ended past the
   * cap). Ends when `signal` aborts, the slot is taken over, the relay shuts down, or (checked
   * every `idleMs`) `credential` no longer names this agent: revoked or expired codes stop reading.
   * Without `credential` (in-process callers) there is no such check.
   */
  follow(agent: Agent, since: number, opts: { idleMs: number; signal?: AbortSignal; credential?: string | null }): AsyncGenerator<StreamEvent> {
    const slot = this.streams.take(`${agent.room}\u0000${agent.name}`, opts.signal);
    const credential = opts.credential;
    const relay = this;
    const source: FollowSource = {
      read: (a, since, wait, signal) => relay.read(a, since, wait, signal),
      waiters: relay.waiters,
      clock: relay.clock,
      get isClosing() {
        return relay.isClosing;
      },
      stillValid: async () => {
        if (credential === undefined) return true; // an in-process caller that holds no code
        const now = await relay.credentials.lookUp(credential);
        return now !== null && now.name === agent.name && now.room === agent.room;
      },
    };
    return follow(source, agent, since, opts.idleMs, slot);
  }

  /** Writes every receipt mark noted so far (views call this before reading receipts). */
  flushReceipts(): Promise<void> {
    return this.deliveries.flush();
  }

  /** `POST /messages/{seq}/claim {ttl_s?}` (see Claims.claim): a lease on an open question; a lost race is a result. */
  async claim(agent: Agent, seq: number, body?: unknown): Promise<ClaimResult> {
    try {
      const r = await this.claims.claim(agent, seq, body);
      this.metrics.count("claims_total", 1, r.won ? "won" : "lost");
      return r;
    } catch (err) {
      if (err instanceof RelayError && (err.code === "not_claimable" || err.code === "not_found")) this.metrics.count("claims_total", 1, err.code);
      throw err;
    }
  }

  /**
   * `POST /messages/ack {up_to}`: the agent has read everything it may see up to `up_to`; raises
   * its durable read position (never lowers it). Throws 422 for a non-integer or a future seq.
   */
  async ack(agent: Agent, body: unknown): Promise<{ readSeq: number; deliveredSeq: number }> {
    const raw = requireObject(body).up_to;
    if (typeof raw !== "number" || !Number.isSafeInteger(raw) || raw < 0) throw invalid("up_to", "up_to must be a whole number of at least 0 (a seq you received).");
    const high = (await this.reading.snapshot(agent.room, raw, agent.name)).highSeq;
    if (raw > high) throw invalid("up_to", `up_to ${raw} is beyond the newest message of the room (${high}).`);
    await this.flushReceipts();
    await this.store.recordReceipts([{ room: agent.room, name: agent.name, kind: "read", seq: raw, atMs: this.clock.now() }]);
    this.changes.bump(agent.room);
    const cursor = await this.store.getCursor(agent.room, agent.name);
    return { readSeq: cursor.readSeq, deliveredSeq: cursor.deliveredSeq };
  }

  /**
   * `GET /history`: the newest `limit` messages the caller may see, ascending (of one thread when
   * `thread` is a root seq). The caller's own messages carry `seenBy`: how many recipients read them.
   */
  async history(agent: Agent, limit: number, thread: number | null = null): Promise<{ messages: (ReadMessage & { seenBy: number | null })[]; status: RoomStatus }> {
    await this.claims.expire();
    const messages = await this.store.history(agent.room, agent.name, Math.min(limit, this.limits.maxHistory), thread);
    const resolved = await this.resolve(agent.room, messages);
    const seen = await this.receiptViews.seenBy(agent, messages);
    return {
      messages: resolved.map((m) => ({ ...m, seenBy: seen.get(m.seq) ?? null })),
      status: await this.store.getRoomStatus(agent.room),
    };
  }

  /** Periodic upkeep: presence transitions, empty rate logs, ended throttle windows, ended leases. */
  async sweep(): Promise<void> {
    const now = this.clock.now();
    for (const room of this.presence.sweep(now)) this.changes.bump(room);
    this.rate.sweep(now);
    this.throttle.sweep(now);
    await this.claims.expire();
  }

  /** Deletes codes expired for more than 7 days (SPEC §4.3) and idempotency keys older than their window. */
  async purgeExpiredCodes(): Promise<number> {
    await this.store.purgeIdempotencyKeys(this.clock.now() - IDEMPOTENCY_WINDOW_MS);
    return this.store.purgeExpiredCodes(this.clock.now() - 7 * 86_400_000);
  }

  /**
   * Answers every parked poll at once (each from a fresh snapshot), refuses to park again, and
   * resolves when no poll is parked any more (or after `graceMs`).
   */
  async shutdown(graceMs = 2000): Promise<void> {
    this.closing = true;
    this.streams.abortAll();
    this.waiters.bumpAll();
    for (let waited = 0; this.waiters.count() > 0 && waited < graceMs; waited += 10) {
      await new Promise((r) => setTimeout(r, 10));
    }
    await this.flushReceipts();
  }

  get isClosing(): boolean {
    return this.closing;
  }
}
