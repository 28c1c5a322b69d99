import { round1, type PollBudget } from "./budget.ts";
import { ChangeFeed } from "./changes.ts";
import { Claims } from "./claims.ts";
import { Credentials } from "./credentials.ts";
import { ActiveReaders } from "./cursors.ts";
import { invalid, RelayError } from "./errors.ts";
import { IDEMPOTENCY_WINDOW_MS, InFlightKeys, postOnce } from "./idempotency.ts";
import { ReopenBoard } from "./leases.ts";
import { AuthThrottle, RateLimiter } from "./limits.ts";
import { NO_METRICS, type Metrics } from "./metrics.ts";
import { PollSlots } from "./poll-slots.ts";
import { Posting, type CommitOptions, type Draft } from "./posting.ts";
import { Presence, PRESENCE_TTL_MS } from "./presence.ts";
import { compareText } from "./questions.ts";
import { Reading } from "./reading.ts";
import { ReceiptViews } from "./receipt-views.ts";
import { DeliveryLog } from "./receipts.ts";
import { follow, StreamSlots, type FollowSource, type StreamEvent } from "./stream.ts";
import { RoomTails } from "./tail.ts";
import type {
  Agent, ClaimResult, IdempotencyRecord, Message, PollResult, ReadMessage, RelayDeps, RelayEvent, RelayLimits, RoomStatus,
} from "./types.ts";
import type { Bus, Clock, SharedState, Store } from "./ports.ts";
import { requireObject } from "./validate.ts";
import { Waiters } from "./waiters.ts";

export type { ClaimResult, CommitOptions, Draft, PollBudget, PollResult, ReadMessage, RelayDeps, RelayEvent, RelayLimits, StreamEvent };

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
  /** Posts: validation, rate limit, the commit and the wake-up (SPEC §5.5). */
  readonly posting = new Posting(this);
  private readonly bus: Bus;
  /** Set when several instances share the database: rate, presence, clocks, throttle and token go through it. */
  readonly shared: SharedState | undefined;
  /** When each room last changed (metrics clock), for the wake latency of the polls it wakes. */
  readonly changedAt = new Map<string, number>();
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
  addressing(room: string, toIn: unknown, expectsIn: unknown) {
    return this.posting.addressing(room, toIn, expectsIn);
  }

  /**
   * `POST /messages` (SPEC §5.5; see Posting.post), optionally under an `Idempotency-Key`. Throws
   * 422, 409 `room_closed`, 429 `rate_limited` or `room_paused`, 403 quota, 422 `idempotency_key_reused`.
   */
  post(agent: Agent, body: unknown, idempotencyKey: string | null = null): Promise<Message> {
    return this.posting.post(agent, body, idempotencyKey);
  }

  /** `reply_to` → the thread fields of a draft; `viewer` null is the operator. Throws 422 `invalid`. */
  threadFor(room: string, raw: unknown, viewer: string | null): Promise<{ replyTo: number | null; thread: number | null }> {
    return this.posting.threadFor(room, raw, viewer);
  }

  /** Posts once per idempotency key (see `postOnce`). */
  idempotent(record: IdempotencyRecord, first: () => Promise<Message>): Promise<Message> {
    return postOnce(this.store, this.inFlightKeys, record, first);
  }

  /** Stores a message in one write transaction and wakes the room's polls (see Posting.commit). */
  commit(m: Draft, opts: CommitOptions): Promise<Message> {
    return this.posting.commit(m, opts);
  }

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
