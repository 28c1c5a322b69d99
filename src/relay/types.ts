/** Domain types: messages, rooms, codes, cursors, and what the relay answers (the ports are in ports.ts). Times are epoch milliseconds throughout. */

import type { PollBudget } from "./budget.ts";
import type { Metrics } from "./metrics.ts";
import type { Store, Bus, SharedState, Clock } from "./ports.ts";

export type RoomState = "open" | "closed";

/** A stored message. `expectsReply` is the stored value: "none", "anyone" or a member name. */
export interface Message {
  room: string;
  seq: number;
  tsMs: number;
  from: string;
  to: string;
  text: string;
  expectsReply: string;
  claimedBy: string | null;
  /** The seq this message answers in the same room, or null. */
  replyTo: number | null;
  /** The seq of the thread's root (the message's own seq for a root). */
  thread: number;
  /** When the claim's lease ends; null when unclaimed, completed, or claimed before leases existed. */
  leaseUntilMs: number | null;
  /** Whose lease lapsed last, and how ("expired" | "released"); null when none did. */
  lapsedBy: string | null;
  lapse: "expired" | "released" | null;
}

export interface RoomStatus {
  name: string;
  status: RoomState;
  closedAtMs: number | null;
  closedBy: string | null;
}

/** A stored access code. `stored` is the SHA-256 hex digest when `hashed`, else the plaintext. */
export interface AccessCode {
  id: number;
  name: string;
  room: string;
  capabilities: string;
  createdMs: number;
  expiresMs: number | null;
  stored: string;
  hashed: boolean;
  /** How listings show it: first 4 + "…" + last 4 for hashed rows, the plaintext otherwise. */
  display: string;
}

/** The authenticated caller of an agent request. */
export interface Agent {
  name: string;
  room: string;
  capabilities: string;
}

/** One room's aggregate, maintained on write. */
export interface RoomSummary {
  room: string;
  messages: number;
  lastSeq: number;
  lastTsMs: number;
  /** Agent messages since the operator last spoke (or the room was resumed): the loop guard's count. */
  agentRun: number;
}

/** Who may be answered in a room, as of the read (SPEC §7.10). */
export interface Participants {
  /** Every name that ever posted in the room (durable). */
  posters: Set<string>;
  /** Names holding an unexpired code for the room. */
  codeHolders: Set<string>;
}

/** A poster's newest message time in a room, for the roster. */
export interface PosterRow {
  room: string;
  name: string;
  lastTsMs: number;
  /** Seq of the poster's first message in the room (0 for posters from before schema step 3). */
  firstSeq: number;
}

export interface AuditEvent {
  id?: number;
  tsMs: number;
  action: string;
  actor: string;
  room: string;
  detail: string;
}

/** Everything a poll needs, read in one snapshot (SPEC §7.2). */
export interface RoomSnapshot {
  /** Messages with seq > since that the viewer may receive, ascending. */
  messages: Message[];
  /** The room's highest seq in this snapshot (0 when empty). */
  highSeq: number;
  status: RoomStatus;
  /** Newest message time, null when the room has no messages. */
  lastTsMs: number | null;
  /** The loop guard's count (RoomSummary.agentRun) in this snapshot. */
  agentRun: number;
}

export interface InsertMessageInput {
  room: string;
  from: string;
  to: string;
  text: string;
  expectsReply: string;
  nowMs: number;
  /** Refuse with `room_closed` when the room is closed (agent posts); false for operator posts. */
  refuseIfClosed: boolean;
  /** Refuse a first message in a new room when this many rooms have messages; 0 = no quota. */
  maxRooms: number;
  /** Keep only the newest N messages of the room; 0 = unlimited. */
  retention: number;
  replyTo: number | null;
  /** The thread root; null for a new root (the store uses the new seq). */
  thread: number | null;
  /** Operator posts reset the loop guard's run; agent posts extend it. */
  byOperator: boolean;
  /** Refuse an agent post with `room_paused` when the run has reached this; 0 = off. */
  loopGuard: number;
  /** Stored with the message in the same transaction, so a retry finds it (idempotency.ts). */
  idempotency: IdempotencyRecord | null;
  /**
   * A shared rate-limit slot taken in the post's own transaction (`Store.takesRateInPost`
   * stores only): refused with `rate_limited` when `key` has `max` events in `windowMs`.
   */
  rate?: { key: string; max: number; windowMs: number } | null;
}

/** An idempotency key as stored: per scope (agent or operator), with the body's hash. */
export interface IdempotencyRecord {
  scope: string;
  key: string;
  bodyHash: string;
  /** Keys stored before this time are stale and may be reused. */
  freshSinceMs: number;
}

export type InsertMessageResult =
  | { ok: true; message: Message; agentRun: number }
  | { ok: false; reason: "room_closed"; status: RoomStatus }
  | { ok: false; reason: "room_quota" }
  | { ok: false; reason: "room_paused"; agentRun: number }
  | { ok: false; reason: "duplicate_key" }
  /** Only with `rate`: ms until the agent's oldest slot frees (nothing stored). */
  | { ok: false; reason: "rate_limited"; retryMs: number };

export interface InsertCodeInput {
  name: string;
  room: string;
  capabilities: string;
  createdMs: number;
  expiresMs: number | null;
  stored: string;
  hashed: boolean;
  /** The masked form (first 4 + "…" + last 4), kept for listings of hashed rows. */
  masked: string;
  /** SHA-256 hex of the code: the lookup key for every row, hashed or not. */
  lookup: string;
  /** Refuse when this many codes are stored; 0 = no quota. */
  maxCodes: number;
}

export type InsertCodeResult =
  | { ok: true; code: AccessCode }
  | { ok: false; reason: "name_taken" | "code_quota" };

/** An agent's durable positions in its room; seqs are 0 and times null before the first move. */
export interface AgentCursor {
  deliveredSeq: number;
  deliveredMs: number | null;
  readSeq: number;
  readMs: number | null;
  /** The newest seq ever delivered to the agent on any path (poll, stream, MCP wait); receipts read it. */
  seenSeq: number;
  seenMs: number | null;
}

/** One advance of an agent's delivered or read high-water mark (receipts.ts). */
export interface ReceiptMark {
  room: string;
  name: string;
  kind: "delivered" | "read";
  seq: number;
  atMs: number;
}

/** When a high-water mark of `name` first covered a given seq (null: not yet). */
export interface ReceiptTimes {
  name: string;
  deliveredMs: number | null;
  readMs: number | null;
}

/** A lease that ended without an answer (expired or released). */
export interface LapsedLease {
  room: string;
  seq: number;
  holder: string;
}

/** The settings the domain obeys; the CLI passes its Config, which has these fields. */
export interface RelayLimits {
  maxText: number; maxWait: number; maxHistory: number; maxMessagesPerRoom: number; onlineWindow: number;
  maxIdleSeconds: number; rateMax: number; rateWindow: number; maxRooms: number; maxCodes: number;
  hashCodes: boolean; maxAudit: number; authFailMax: number;
  /** Concurrent parked polls per (room, name); 0 = no cap. */
  maxPollsPerAgent: number;
  /** Default claim lease in seconds (ARGYBARGY_CLAIM_TTL). */
  claimTtl: number;
  /** Consecutive agent messages before a room pauses; 0 = off (ARGYBARGY_LOOP_GUARD). */
  loopGuard: number;
  /** Open `/messages/stream` connections per (room, name); 0 = no cap. */
  maxStreamsPerAgent: number;
}

/** Something worth a log line; the adapters decide how to print it (the domain never logs). */
export type RelayEvent =
  | { kind: "connect"; room: string; name: string }
  | { kind: "token_regenerated" }
  | { kind: "receipts_failed"; error: unknown };

export interface RelayDeps {
  store: Store;
  bus: Bus;
  clock: Clock;
  limits: RelayLimits;
  adminToken: string;
  onEvent?: (event: RelayEvent) => void;
  /** Shared across instances (PostgreSQL); without it rate limits, presence and throttle live in memory. */
  shared?: SharedState;
  /** Where counters go; nothing is counted when absent. */
  metrics?: Metrics;
}

/** A message as read paths return it (SPEC §5.0). */
export type ReadMessage = Message & { expectsReplyResolved: string };

export interface PollResult {
  messages: ReadMessage[];
  cursor: number;
  room: RoomStatus;
  budget: PollBudget;
  /** The loop guard holds agent posts until the operator speaks. */
  paused: boolean;
  /** Questions whose lease lapsed while this poll waited, open for anyone again. */
  reopened: ReopenedQuestion[];
}

/** A question whose claim lapsed: `was` held it, `why` it ended. */
export interface ReopenedQuestion {
  seq: number;
  was: string;
  why: "expired" | "released";
}

export type ClaimResult =
  | { won: true; claimedBy: string; seq: number; leaseUntilMs: number | null }
  | { won: false; claimedBy: string; seq: number; leaseUntilMs: number | null };
