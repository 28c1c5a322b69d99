/** The ports the relay is written against: the Store (and its bulk moves), the Bus, the state instances share, the clock. */

import type {
  Message, RoomStatus, AccessCode, RoomSummary, Participants, PosterRow, AuditEvent, RoomSnapshot, InsertMessageInput,
  InsertMessageResult, InsertCodeInput, InsertCodeResult, AgentCursor, ReceiptMark, ReceiptTimes, LapsedLease,
} from "./types.ts";

/** A stored code with everything needed to recreate its row elsewhere (import, migrate). */
export type StoredCode = Omit<InsertCodeInput, "maxCodes">;

/** Everything a store holds, for moving whole databases between stores (1.0 import, migrate). */
export interface StoreDump {
  /** Every message with its seq and claim, any order. */
  messages: Message[];
  statuses: RoomStatus[];
  codes: StoredCode[];
  audit: AuditEvent[];
  cursors: (AgentCursor & { room: string; name: string })[];
  /**
   * Everyone who ever posted, with their newest post time. Retention can prune all of a name's
   * messages while it stays a member (SPEC §7.10), so these are not derivable from `messages`;
   * absent in a dump that keeps every message (the 1.0 import), where they are.
   */
  posters?: PosterRow[];
  /**
   * Each room's loop-guard run (RoomSummary.agentRun): retention can prune the operator's last
   * message, so it is not derivable from `messages`; absent (1.0 import) = derived from them.
   */
  agentRuns?: { room: string; agentRun: number }[];
  /** The receipt marks (when each message reached and was read by whom); absent (1.0 import, which kept none) = none. */
  receiptMarks?: ReceiptMark[];
  /**
   * The stored idempotency keys, so a retry after a migration still gets the first answer;
   * sorted by scope, then key (code units); absent (1.0 import, which kept none) = none.
   */
  idempotencyKeys?: StoredIdempotencyKey[];
}

/** An idempotency key as a dump carries it: `message` is the stored first answer, JSON text as stored. */
export interface StoredIdempotencyKey {
  scope: string;
  key: string;
  bodyHash: string;
  message: string;
  createdMs: number;
}

/**
 * Bulk moves of a whole database, beside the Store port (only the import and migrate verbs need
 * them). `loadAll` writes into an empty store in one transaction and rebuilds the derived
 * tables (room aggregates, posters, open-question marks) from the messages.
 */
export interface BulkStore {
  isEmpty(): Promise<boolean>;
  dumpAll(): Promise<StoreDump>;
  loadAll(dump: StoreDump): Promise<void>;
}

/** An unanswered question for the operator inbox (SPEC §7.11). */
export type WaitingRow = Message;

/**
 * The persistence port. Async on purpose (STYLE rule 3): a PostgreSQL store must fit without
 * changing the domain. Each method is one query or one transaction.
 */
export interface Store {
  /** Seq allocation, closed check, quota, insert, retention, aggregates, answered-marks: one write transaction. */
  insertMessage(input: InsertMessageInput): Promise<InsertMessageResult>;
  /** True when `insertMessage` honours `InsertMessageInput.rate` (the shared rate limit in the post's transaction). */
  readonly takesRateInPost?: boolean;
  /** One read snapshot for a poll. `viewer` filters to messages the viewer may receive. */
  readSince(room: string, since: number, viewer: string): Promise<RoomSnapshot>;
  /** The newest `limit` messages of a room (all of them, any visibility), ascending; for the in-memory tail. */
  readTail(room: string, limit: number): Promise<RoomSnapshot>;
  /** Newest `limit` messages visible under the history rule, ascending; of one thread (root seq) when `thread` is set. */
  history(room: string, viewer: string, limit: number, thread?: number | null): Promise<Message[]>;
  getMessage(room: string, seq: number): Promise<Message | null>;
  /**
   * Sets claimed_by (and the lease end, null = permanent) only where it is still null; returns
   * the holder after the statement.
   */
  claimMessage(room: string, seq: number, name: string, leaseUntilMs: number | null): Promise<string | null>;
  /** Moves the lease end of `name`'s active lease on (room, seq); false when `name` holds none there. */
  renewLease(room: string, seq: number, name: string, leaseUntilMs: number): Promise<boolean>;
  /** Ends `name`'s active lease: unclaimed, open again, `lapse` = released; false when `name` holds none there. */
  releaseLease(room: string, seq: number, name: string): Promise<boolean>;
  /** Ends every lease whose end is at or before `nowMs` (unclaimed, open again, `lapse` = expired); returns them. */
  expireLeases(nowMs: number): Promise<LapsedLease[]>;
  /** Sets the loop guard's run of `room` to 0 (the operator resumed it). */
  resetAgentRun(room: string): Promise<void>;

  /** The message stored under (scope, key) since `sinceMs`, with the body hash it was stored with. */
  findIdempotent(scope: string, key: string, sinceMs: number): Promise<{ bodyHash: string; message: Message } | null>;
  /** Deletes idempotency keys older than `cutoffMs`; returns how many. */
  purgeIdempotencyKeys(cutoffMs: number): Promise<number>;

  /**
   * Writes a batch of receipt marks in one transaction: each only when it raises that agent's
   * high-water mark (delivered → `seen_seq`, read → `read_seq`; a read also counts as delivered).
   */
  recordReceipts(marks: ReceiptMark[]): Promise<void>;
  /** For every agent with marks in `room`: when its delivered and read marks first covered `seq`. */
  receiptTimes(room: string, seq: number): Promise<ReceiptTimes[]>;

  getRoomStatus(room: string): Promise<RoomStatus>;
  setRoomStatus(status: RoomStatus): Promise<void>;
  listRoomStatuses(): Promise<RoomStatus[]>;
  listRoomSummaries(): Promise<RoomSummary[]>;
  participants(room: string, nowMs: number): Promise<Participants>;
  listPosters(): Promise<PosterRow[]>;

  /** Admin feed: newest `limit` messages, of one room (optionally seq < before) or of all rooms. */
  adminMessages(room: string | null, before: number | null, limit: number): Promise<Message[]>;
  /** Open, unanswered questions in open rooms not sent by `operator`, oldest first. */
  waiting(limit: number): Promise<WaitingRow[]>;
  countMessages(): Promise<number>;

  insertCode(input: InsertCodeInput): Promise<InsertCodeResult>;
  /** The row whose code hashes to `presentedHash`; the caller verifies plaintext rows in constant time. */
  findCode(presentedHash: string): Promise<AccessCode | null>;
  listCodes(): Promise<AccessCode[]>;
  countCodes(): Promise<number>;
  /** Deletes rows by name or by code value, optionally within one room; returns how many and whether the target is a stored code (in any room). */
  deleteCodes(target: string, targetHash: string, room: string | null): Promise<{ count: number; matchedByCode: boolean }>;
  /** Converts plaintext rows to hashed form in place; returns how many. */
  hashPlaintextCodes(): Promise<number>;
  /** Deletes codes whose expiry is before `cutoffMs`; returns how many. */
  purgeExpiredCodes(cutoffMs: number): Promise<number>;

  /** The agent's durable positions (zeros when it never had any). */
  getCursor(room: string, name: string): Promise<AgentCursor>;
  /**
   * Compare-and-set of the delivered position: moves it from `from` to `to` only when it is
   * still `from`, so two readers (processes) cannot both hand out the same messages. Returns
   * whether it moved.
   */
  moveDelivered(room: string, name: string, from: number, to: number, nowMs: number): Promise<boolean>;
  /** Raises the read position to `seq` when that is higher (never lowers it). */
  raiseRead(room: string, name: string, seq: number, nowMs: number): Promise<void>;
  /** Every agent's positions in `room`. */
  listCursors(room: string): Promise<(AgentCursor & { name: string })[]>;

  /** Appends an audit row and drops the oldest beyond `maxAudit` (0 = unlimited); returns its id. */
  insertAudit(event: AuditEvent, maxAudit: number): Promise<number>;
  updateAuditDetail(id: number, detail: string): Promise<void>;
  /** The newest `limit` audit rows, oldest first. */
  listAudit(limit: number): Promise<AuditEvent[]>;

  close(): Promise<void>;
}

/**
 * Carries "room X changed" to every poller, possibly across processes. The in-process bus
 * calls the local waiters; a PostgreSQL deployment would use LISTEN/NOTIFY.
 */
export interface Bus {
  /** Announces a change this process committed in `room`. */
  roomChanged(room: string): void;
  /**
   * Calls `listener` for every change, with `remote` true when another process made it: then
   * this process's cached view of the room is stale and must be dropped before polls re-read.
   * `room` null (always remote) means notifications may have been lost (a reconnect): any
   * room may have changed, so every cached view is stale and every waiter must re-read.
   */
  subscribe(listener: (room: string | null, remote: boolean) => void): () => void;
}

/** A failed-authentication window of one client address, as every instance counted it. */
export interface SharedAuthFailure {
  windowStartMs: number;
  failures: number;
  adminFailures: number;
  auditId: number | null;
}

/** One agent's presence row as every instance recorded it. */
export interface SharedPresence {
  room: string;
  name: string;
  seenMs: number;
  /** The agent's idle clock (SPEC §7.6): when it last started or restarted; null when never. */
  clockMs: number | null;
}

/**
 * State that several relay instances on one database must agree on (rate limits, presence,
 * idle clocks, the failed-auth throttle, the admin token). Absent for a single instance, which
 * keeps all of it in memory. `record*` calls are queued and written in batches.
 */
export interface SharedState {
  /** Sliding-log rate limit across instances: records the event and resolves 0, or resolves ms until a slot frees (nothing recorded). */
  takeRate(key: string, nowMs: number, max: number, windowMs: number): Promise<number>;
  /** True when no instance had seen (room, name) before; records the sighting either way. */
  firstSight(room: string, name: string, nowMs: number): Promise<boolean>;
  recordSeen(room: string, name: string, seenMs: number): void;
  /** `restart` moves the clock to `startMs`; otherwise it is set only when the agent has none. */
  recordClock(room: string, name: string, startMs: number, restart: boolean): void;
  /** Presence rows seen since `sinceMs`, of one room or all. */
  loadPresence(room: string | null, sinceMs: number): Promise<SharedPresence[]>;
  /** Counts one failure in the address's fixed window (a new window once `windowMs` passed). */
  authFailure(ip: string, nowMs: number, admin: boolean, windowMs: number): Promise<SharedAuthFailure>;
  setAuthAuditId(ip: string, windowStartMs: number, auditId: number): Promise<void>;
  /** The admin token all instances accept; null before the first start stored one. */
  adminToken(): Promise<string | null>;
  /** Replaces the admin token (regeneration), or with `onlyIfMissing` stores it unless one exists; resolves the token in force. */
  saveAdminToken(token: string, onlyIfMissing: boolean): Promise<string>;
}

/** The injected clock (STYLE: tests set the time instead of sleeping). */
export interface Clock {
  now(): number;
}
