import { pollBudget, type PollBudget } from "./budget.ts";
import { isPaused } from "./loop-guard.ts";
import { needsParticipants, participantNames, resolveExpects } from "./questions.ts";
import type { Relay } from "./relay.ts";
import { TAIL_LENGTH } from "./tail.ts";
import type { Agent, Message, PollResult, ReadMessage, RoomSnapshot, RoomStatus } from "./types.ts";

/** Shared tail fills a poll waits for before it reads the store itself (each retry follows a change mid-fill). */
const TAIL_FILL_ATTEMPTS = 3;

/**
 * The relay's read side: long-poll reads from the rooms' in-memory tails (SPEC §5.6, §7.5; one
 * consistent snapshot per answer), the read from the agent's durable delivered position, and
 * what each answer carries (the idle budget, resolved addressees, delivery marks and metrics).
 */
export class Reading {
  private readonly tailFills = new Map<string, { version: number; done: Promise<void> }>();

  constructor(private readonly relay: Relay) {}

  /**
   * One consistent snapshot for a poll: from memory when the room's tail covers `since`. A cold
   * tail (another instance posted, or the room was evicted) is filled by one store read that every
   * poll woken meanwhile shares: 1,000 polls woken on instance B by a post on A made 1,000 queries.
   */
  async snapshot(room: string, since: number, viewer: string): Promise<RoomSnapshot> {
    for (let attempt = 0; attempt < TAIL_FILL_ATTEMPTS; attempt++) {
      const cached = this.relay.tails.read(room, since, viewer);
      if (cached) return cached;
      // A fill the room changed under installs nothing; the next attempt shares a fresh one.
      await this.fillTail(room);
    }
    return this.relay.tails.read(room, since, viewer) ?? this.relay.store.readSince(room, since, viewer);
  }

  /** The room's fill in flight for its current version, or a new one. */
  private fillTail(room: string): Promise<void> {
    const version = this.relay.tails.version(room);
    const running = this.tailFills.get(room);
    if (running?.version === version) return running.done;
    const done = this.relay.store.readTail(room, TAIL_LENGTH).then((tail) => this.relay.tails.fill(room, tail, version)).finally(() => {
      if (this.tailFills.get(room)?.done === done) this.tailFills.delete(room);
    });
    this.tailFills.set(room, { version, done });
    return done;
  }

  /**
   * `GET /messages` (SPEC §5.6, §7.5): answers at once when there is something to say, else parks
   * until the room changes, the deadline passes or `signal` aborts (then returns null). Throws
   * 429 `too_many_polls` when the agent already has `maxPollsPerAgent` polls parked.
   */
  async read(agent: Agent, since: number, waitSeconds: number, signal?: AbortSignal): Promise<PollResult | null> {
    const { room, name } = agent;
    const wait = Math.min(waitSeconds, this.relay.limits.maxWait);
    if (this.relay.presence.clockStart(room, name) === undefined) this.relay.shared?.recordClock(room, name, this.relay.clock.now(), false);
    this.relay.presence.startClock(room, name, this.relay.clock.now());
    const deadline = this.relay.clock.now() + wait * 1000;
    let woken = false;
    const lapsesSeen = this.relay.reopens.mark();
    // Taken only when the poll is about to park (an answer at once holds nothing), released
    // whatever ends the poll; throws 429 `too_many_polls` over the per-agent cap.
    let release: (() => void) | null = null;
    try {
      for (;;) {
        const generation = this.relay.waiters.generation(room);
        // Woken polls are answered from memory without awaiting: thousands of them wake at once,
        // and every await would send each to the back of the queue behind all the others.
        const snap = this.relay.tails.read(room, since, name) ?? await this.snapshot(room, since, name);
        const now = this.relay.clock.now();
        const reopened = this.relay.reopens.since(room, lapsesSeen, name);
        if (snap.messages.length || reopened.length || wait === 0 || snap.status.status === "closed" || now >= deadline || this.relay.isClosing) {
          const touched = this.relay.touch(room, name, true, agent.capabilities);
          if (touched) await touched;
          const resolved = this.resolveFromMemory(snap.messages) ?? await this.resolve(room, snap.messages);
          // The idle clock may have restarted on another instance (a delivery or post there).
          if (this.relay.shared && !snap.messages.length) await this.relay.syncPresence(room);
          if (snap.messages.length) this.delivered(room, snap.messages.length, woken);
          return { ...this.answer(agent, snap, resolved), reopened };
        }
        release ??= this.relay.pollSlots.take(`${room}\u0000${name}`);
        const how = await this.relay.waiters.park(room, generation, deadline - now, signal);
        if (how === "aborted") return null;
        woken = how === "woken";
      }
    } finally {
      release?.();
    }
  }

  /**
   * A read that needs no cursor from the client (MCP `wait`, attach): from the agent's durable
   * delivered position, which moves to the answer's cursor (compare-and-set, so two readers in
   * two processes never both hand out the same messages). Every message arrives exactly once,
   * in order, across reconnects and restarts. Returns null when `signal` aborts or a newer
   * `next` of the same agent takes over.
   */
  async next(agent: Agent, waitSeconds: number, signal?: AbortSignal): Promise<PollResult | null> {
    const { room, name } = agent;
    const reader = this.relay.readers.begin(`${room}\u0000${name}`, signal);
    const deadline = this.relay.clock.now() + Math.min(waitSeconds, this.relay.limits.maxWait) * 1000;
    try {
      for (;;) {
        const from = (await this.relay.store.getCursor(room, name)).deliveredSeq;
        const left = Math.max(0, (deadline - this.relay.clock.now()) / 1000);
        const r = await this.read(agent, from, left, reader.signal);
        if (!r) return null;
        // Nothing new (timeout, closed room); a room whose seqs went backwards (restored from an
        // older backup) moves the position back so its new messages are not skipped.
        if (r.cursor === from) return r;
        if (await this.relay.store.moveDelivered(room, name, from, r.cursor, this.relay.clock.now())) return r;
      }
    } finally {
      reader.end();
    }
  }

  private delivered(room: string, n: number, woken: boolean): void {
    this.relay.metrics.count("messages_delivered_total", n, room);
    const changed = woken ? this.relay.changedAt.get(room) : undefined;
    if (changed !== undefined) this.relay.metrics.observe("wake_latency_seconds", (this.relay.metrics.now() - changed) / 1000);
  }

  private answer(agent: Agent, snap: RoomSnapshot, messages: ReadMessage[]): Omit<PollResult, "reopened"> {
    const now = this.relay.clock.now();
    const delivered = snap.messages.length > 0;
    if (delivered) {
      this.relay.restartClock(agent.room, agent.name, now);
      this.relay.deliveries.delivered(agent.room, agent.name, snap.messages[snap.messages.length - 1]!.seq, now);
    }
    const start = this.relay.presence.clockStart(agent.room, agent.name) ?? now;
    const waited = delivered ? 0 : (now - start) / 1000;
    const quiet = snap.lastTsMs === null ? 0 : (now - snap.lastTsMs) / 1000;
    return {
      messages,
      cursor: snap.highSeq,
      room: snap.status,
      budget: this.budget(waited, quiet, snap.status),
      paused: isPaused(snap.agentRun, this.relay.limits.loopGuard),
    };
  }

  /** The idle safety valve of SPEC §7.6. */
  budget(waited: number, quiet: number, status: RoomStatus): PollBudget {
    return pollBudget(waited, quiet, status, this.relay.limits.maxIdleSeconds);
  }

  /** Resolution that needs no participants (no stored `anyone`), or null. */
  private resolveFromMemory(messages: Message[]): ReadMessage[] | null {
    return needsParticipants(messages) ? null : messages.map((m) => ({ ...m, expectsReplyResolved: m.expectsReply }));
  }

  /** Adds `expects_reply_resolved` to messages of one room. */
  async resolve(room: string, messages: Message[]): Promise<ReadMessage[]> {
    const fromMemory = this.resolveFromMemory(messages);
    if (fromMemory) return fromMemory;
    const names = participantNames(await this.relay.store.participants(room, this.relay.clock.now()));
    return messages.map((m) => ({ ...m, expectsReplyResolved: resolveExpects(m, names) }));
  }
}
