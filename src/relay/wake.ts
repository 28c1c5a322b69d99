/**
 * Waking an idle agent (`argybargy attach`, the Claude Code hooks): which messages need the
 * agent, the short pointer that tells it so, and the state that coalesces arrivals into bursts
 * and decides how far the agent's read position may move. Pure: no I/O, no clock of its own.
 */

/** A message as an agent receives it on the wire (SPEC §5.0, read paths). */
export interface AgentMessage {
  seq: number;
  ts: string;
  from: string;
  to: string;
  text: string;
  expects_reply: string;
  claimed_by: string | null;
  expects_reply_resolved: string;
}

/**
 * Which messages wake the agent: `me` = DMs to it, questions expecting it and open `anyone`
 * questions nobody has claimed; `questions` = the same without plain DMs; `all` = everything.
 */
export type WakeFilter = "me" | "questions" | "all";

/** The values `--for` accepts. */
export const WAKE_FILTERS: readonly WakeFilter[] = ["me", "questions", "all"];

/** Whether `m` needs the agent `me` under `filter`. */
export function needsAgent(m: AgentMessage, me: string, filter: WakeFilter): boolean {
  if (m.from === me) return false;
  if (filter === "all") return true;
  const asksMe = m.expects_reply_resolved === me;
  const open = m.expects_reply_resolved === "anyone" && (m.claimed_by === null || m.claimed_by === me);
  if (asksMe || open) return true;
  return filter === "me" && m.to === me;
}

/** How many items the pointer names before it says "and N more". */
const POINTER_ITEMS = 5;

function describe(m: AgentMessage, me: string): string {
  if (m.expects_reply_resolved === me) return `${m.from} asked you (#${m.seq})`;
  if (m.expects_reply_resolved === "anyone") return `an open question from ${m.from} (#${m.seq})`;
  if (m.to === me) return `${m.from} wrote to you (#${m.seq})`;
  return `${m.from} wrote (#${m.seq})`;
}

/**
 * The pointer an agent is woken with, e.g. "2 things need you in #build: bob asked you (#41),
 * an open question from carol (#43)"; "3 new messages in #build (1 for you): …" when some ask
 * nothing of it (`--for all`). Empty string for no messages.
 */
export function wakeSummary(room: string, me: string, messages: readonly AgentMessage[]): string {
  if (messages.length === 0) return "";
  const n = messages.length;
  // Under --for all a burst may hold messages that ask nothing of the agent: say so.
  const needy = messages.filter((m) => needsAgent(m, me, "me")).length;
  const head = needy === n
    ? `${n} ${n === 1 ? "thing needs" : "things need"} you in #${room}`
    : `${n} new message${n === 1 ? "" : "s"} in #${room}${needy ? ` (${needy} for you)` : ""}`;
  const items = messages.slice(0, POINTER_ITEMS).map((m) => describe(m, me));
  if (n > POINTER_ITEMS) items.push(`and ${n - POINTER_ITEMS} more`);
  return `${head}: ${items.join(", ")}`;
}

/** Longest text quoted per message in a hook's reason; the agent can read the rest from history. */
const QUOTE_CHARS = 2000;

/**
 * The text a Claude Code hook hands the session: the pointer, one line per message, and the
 * etiquette (answer what expects you, claim `anyone` before answering).
 */
export function wakeBrief(room: string, me: string, messages: readonly AgentMessage[]): string {
  const lines = [`argybargy: ${wakeSummary(room, me, messages)}.`];
  for (const m of messages) {
    const to = m.to === "all" ? "all" : m.to === me ? "you" : m.to;
    const text = m.text.length > QUOTE_CHARS ? `${m.text.slice(0, QUOTE_CHARS)}… (cut; see /history)` : m.text;
    lines.push(`#${m.seq} ${m.from} → ${to} (expects ${m.expects_reply_resolved === me ? "you" : m.expects_reply_resolved}): ${text}`);
  }
  lines.push("Reply in the room (the argybargy send tool, or POST /messages) to what expects you; claim an `anyone` question (the claim tool, or POST /messages/{seq}/claim) before answering it, and stay quiet on what expects someone else.");
  return lines.join("\n");
}

/** One coalesced set of messages to hand to the agent, and how far its read position moves when handled. */
export interface Burst {
  messages: AgentMessage[];
  /** The read position to acknowledge once the burst was handled: every seq up to it was seen. */
  upTo: number;
}

/** How arrivals are coalesced: a quiet gap of `debounceMs`, but never held longer than `maxHoldMs`. */
export interface Debounce {
  debounceMs: number;
  maxHoldMs: number;
}

/**
 * The attach loop's state: the cursor (highest seq examined), messages waiting for the agent,
 * and the acknowledged read position. Arrivals during a run wait for the next burst; a failed
 * run keeps its messages for the retry; filtered-out messages move the read position only
 * past seqs with nothing pending before them.
 */
export class WakeQueue {
  private pending: AgentMessage[] = [];
  private firstMs: number | null = null;
  private lastMs: number | null = null;

  /** `acked`: the durable read position the agent starts from (also the first cursor). */
  constructor(readonly me: string, readonly filter: WakeFilter, private acked: number, private seen = acked) {}

  /** The highest seq examined so far (the `since` to read from next). */
  get cursor(): number {
    return this.seen;
  }

  /** The read position last acknowledged. */
  get readPosition(): number {
    return this.acked;
  }

  /** Messages waiting for the agent. */
  get waiting(): number {
    return this.pending.length;
  }

  /**
   * Takes what a read returned (`cursor` = the highest seq it examined). Messages at or below
   * the cursor already seen are ignored, so a replayed read never wakes the agent twice.
   * Returns how many new messages need the agent.
   */
  add(messages: readonly AgentMessage[], cursor: number, nowMs: number): number {
    let added = 0;
    for (const m of messages) {
      if (m.seq <= this.seen) continue;
      if (needsAgent(m, this.me, this.filter)) {
        this.pending.push(m);
        added++;
      }
    }
    const high = Math.max(cursor, ...messages.map((m) => m.seq));
    if (high > this.seen) this.seen = high;
    if (added) {
      this.firstMs ??= nowMs;
      this.lastMs = nowMs;
    }
    return added;
  }

  /** Milliseconds until the waiting messages are due (0 = now), or null when nothing waits. */
  dueInMs(nowMs: number, d: Debounce): number | null {
    if (this.pending.length === 0 || this.firstMs === null || this.lastMs === null) return null;
    return Math.max(0, Math.min(this.lastMs + d.debounceMs, this.firstMs + d.maxHoldMs) - nowMs);
  }

  /** Everything waiting, as one burst (null when nothing waits). The messages stay until `handled`. */
  take(): Burst | null {
    if (this.pending.length === 0) return null;
    return { messages: [...this.pending], upTo: this.seen };
  }

  /**
   * The burst was handled: drops its messages and returns the read position to acknowledge
   * (null when it would not move). Arrivals since `take` stay for the next burst.
   */
  handled(burst: Burst, nowMs: number): number | null {
    this.pending = this.pending.filter((m) => m.seq > burst.upTo);
    this.firstMs = this.lastMs = this.pending.length ? nowMs : null;
    return this.advance(burst.upTo);
  }

  /** With nothing waiting, the read position may move past filtered-out messages; null when it would not move. */
  idleAck(): number | null {
    return this.pending.length === 0 ? this.advance(this.seen) : null;
  }

  private advance(upTo: number): number | null {
    if (upTo <= this.acked) return null;
    this.acked = upTo;
    return upTo;
  }
}
