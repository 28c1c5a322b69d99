import type { Database } from "bun:sqlite";
import type {
  AccessCode, AgentCursor, AuditEvent, InsertCodeInput, InsertCodeResult, InsertMessageInput, InsertMessageResult,
  LapsedLease, Message, Participants, PosterRow, ReceiptMark, ReceiptTimes, RoomSnapshot, RoomStatus, RoomSummary,
} from "../relay/types.ts";
import type { BulkStore, Store, StoreDump } from "../relay/ports.ts";
import { BulkQueries } from "./bulk.ts";
import { Checkpointer, CHECKPOINTER_DEFAULTS, type CheckpointerOptions } from "./checkpointer.ts";
import { CodeQueries } from "./codes.ts";
import { CursorQueries } from "./cursors.ts";
import { DeliveryQueries } from "./delivery.ts";
import { openDatabase, type SyncMode } from "./db.ts";
import { MessageQueries } from "./messages.ts";

/** Codes kept in the authentication cache at most (hits only, so garbage codes cannot fill it). */
const AUTH_CACHE_MAX = 10_000;

interface CachedParticipants { posters: Set<string>; holders: Set<string>; nextExpiryMs: number | null }

/**
 * The Store on bun:sqlite. Authentication and room participants are cached, and the caches are
 * dropped whenever another connection commits (PRAGMA data_version moves: the CLI writes codes
 * directly) or this one changes codes, so nothing the CLI changes is ever served stale.
 */
export class SqliteStore implements Store, BulkStore {
  private readonly messages: MessageQueries;
  private readonly codes: CodeQueries;
  private readonly cursors: CursorQueries;
  private readonly delivery: DeliveryQueries;
  private readonly bulk: BulkQueries;
  private readonly dataVersion;
  private seenVersion = -1;
  private readonly authCache = new Map<string, AccessCode>();
  private readonly participantCache = new Map<string, CachedParticipants>();
  private pending: { input: InsertMessageInput; resolve: (r: InsertMessageResult) => void; reject: (e: unknown) => void }[] = [];

  private checkpointer: Checkpointer | null = null;

  /**
   * Opens (creating and migrating) the database at `path`; `:memory:` for tests. With
   * `checkpoints` (the server), WAL checkpoints run in a worker thread instead of inside COMMITs.
   */
  static open(path: string, sync: SyncMode = "normal", checkpoints: CheckpointerOptions | boolean = false): SqliteStore {
    const store = new SqliteStore(openDatabase(path, sync));
    if (checkpoints === false) return store;
    const opts = checkpoints === true ? CHECKPOINTER_DEFAULTS : checkpoints;
    const checkpointer = new Checkpointer(store.db, path, sync === "full" ? "FULL" : "NORMAL", opts);
    checkpointer.onResume = () => {
      if (store.pending.length) store.flushPosts();
    };
    store.checkpointer = checkpointer;
    return store;
  }

  constructor(readonly db: Database) {
    this.messages = new MessageQueries(db);
    this.codes = new CodeQueries(db);
    this.cursors = new CursorQueries(db);
    this.delivery = new DeliveryQueries(db);
    this.bulk = new BulkQueries(db);
    this.dataVersion = db.query<{ data_version: number }, []>("PRAGMA data_version");
  }

  /** Drops the caches when another connection committed since the last look. */
  private syncCaches(): void {
    const v = this.dataVersion.get()!.data_version;
    if (v !== this.seenVersion) {
      this.seenVersion = v;
      this.dropCaches();
    }
  }

  private dropCaches(): void {
    this.authCache.clear();
    this.participantCache.clear();
  }

  /** Queues the post for the next group commit (see `flushPosts`); resolves after it is committed. */
  insertMessage(input: InsertMessageInput): Promise<InsertMessageResult> {
    const { promise, resolve, reject } = Promise.withResolvers<InsertMessageResult>();
    this.pending.push({ input, resolve, reject });
    if (this.pending.length === 1) setImmediate(() => this.flushPosts());
    return promise;
  }

  /**
   * Group commit: every post queued during one turn of the event loop is written in one
   * transaction (SPEC §5.5's rules hold per post inside it), then each caller is resolved in
   * commit order. Under load this turns N commits into one; alone, a post waits one turn. While
   * a catch-up checkpoint runs, posts stay queued until it ends (see Checkpointer).
   */
  private flushPosts(): void {
    if (this.checkpointer?.holding) return;
    const batch = this.pending;
    this.pending = [];
    let results: InsertMessageResult[];
    try {
      results = this.messages.insertMessages(batch.map((p) => p.input));
    } catch (err) {
      for (const p of batch) p.reject(err);
      return;
    }
    results.forEach((result, i) => {
      if (result.ok) this.participantCache.get(result.message.room)?.posters.add(result.message.from);
      batch[i]!.resolve(result);
    });
  }
  async readSince(room: string, since: number, viewer: string): Promise<RoomSnapshot> {
    return this.messages.readSince(room, since, viewer);
  }
  async readTail(room: string, limit: number): Promise<RoomSnapshot> {
    return this.messages.readTail(room, limit);
  }
  async history(room: string, viewer: string, limit: number, thread: number | null = null): Promise<Message[]> {
    return this.messages.history(room, viewer, limit, thread);
  }
  async getMessage(room: string, seq: number): Promise<Message | null> {
    return this.messages.getMessage(room, seq);
  }
  async claimMessage(room: string, seq: number, name: string, leaseUntilMs: number | null): Promise<string | null> {
    return this.messages.claimMessage(room, seq, name, leaseUntilMs);
  }
  async renewLease(room: string, seq: number, name: string, leaseUntilMs: number): Promise<boolean> {
    return this.delivery.renewLease(room, seq, name, leaseUntilMs);
  }
  async releaseLease(room: string, seq: number, name: string): Promise<boolean> {
    return this.delivery.releaseLease(room, seq, name);
  }
  async expireLeases(nowMs: number): Promise<LapsedLease[]> {
    return this.delivery.expireLeases(nowMs);
  }
  async resetAgentRun(room: string): Promise<void> {
    this.messages.resetAgentRun(room);
  }
  async findIdempotent(scope: string, key: string, sinceMs: number): Promise<{ bodyHash: string; message: Message } | null> {
    return this.delivery.findIdempotent(scope, key, sinceMs);
  }
  async purgeIdempotencyKeys(cutoffMs: number): Promise<number> {
    return this.delivery.purgeIdempotencyKeys(cutoffMs);
  }
  async recordReceipts(marks: ReceiptMark[]): Promise<void> {
    if (marks.length) this.delivery.recordReceipts(marks);
  }
  async receiptTimes(room: string, seq: number): Promise<ReceiptTimes[]> {
    return this.delivery.receiptTimes(room, seq);
  }
  async getRoomStatus(room: string): Promise<RoomStatus> {
    return this.messages.getRoomStatus(room);
  }
  async setRoomStatus(status: RoomStatus): Promise<void> {
    this.messages.setRoomStatus(status);
  }
  async listRoomStatuses(): Promise<RoomStatus[]> {
    return this.messages.listRoomStatuses();
  }
  async listRoomSummaries(): Promise<RoomSummary[]> {
    return this.messages.listRoomSummaries();
  }
  async listPosters(): Promise<PosterRow[]> {
    return this.messages.listPosters();
  }
  async adminMessages(room: string | null, before: number | null, limit: number): Promise<Message[]> {
    return this.messages.adminMessages(room, before, limit);
  }
  async waiting(limit: number): Promise<Message[]> {
    return this.messages.waiting(limit);
  }
  async countMessages(): Promise<number> {
    return this.messages.countMessages();
  }

  async participants(room: string, nowMs: number): Promise<Participants> {
    this.syncCaches();
    let entry = this.participantCache.get(room);
    if (!entry || (entry.nextExpiryMs !== null && entry.nextExpiryMs <= nowMs)) {
      const holders = this.codes.codeHolders(room, nowMs);
      entry = { posters: new Set(this.messages.roomPosters(room)), holders: new Set(holders.names), nextExpiryMs: holders.nextExpiryMs };
      this.participantCache.set(room, entry);
    }
    return { posters: new Set(entry.posters), codeHolders: new Set(entry.holders) };
  }

  async insertCode(input: InsertCodeInput): Promise<InsertCodeResult> {
    const result = this.codes.insertCode(input);
    this.dropCaches();
    return result;
  }
  async findCode(presentedHash: string): Promise<AccessCode | null> {
    this.syncCaches();
    const hit = this.authCache.get(presentedHash);
    if (hit) return hit;
    const code = this.codes.findCode(presentedHash);
    if (code) {
      if (this.authCache.size >= AUTH_CACHE_MAX) this.authCache.clear();
      this.authCache.set(presentedHash, code);
    }
    return code;
  }
  async listCodes(): Promise<AccessCode[]> {
    return this.codes.listCodes();
  }
  async countCodes(): Promise<number> {
    return this.codes.countCodes();
  }
  async deleteCodes(target: string, targetHash: string, room: string | null) {
    const result = this.codes.deleteCodes(target, targetHash, room);
    this.dropCaches();
    return result;
  }
  async hashPlaintextCodes(): Promise<number> {
    const n = this.codes.hashPlaintextCodes();
    this.dropCaches();
    return n;
  }
  async purgeExpiredCodes(cutoffMs: number): Promise<number> {
    const n = this.codes.purgeExpiredCodes(cutoffMs);
    if (n) this.dropCaches();
    return n;
  }
  async getCursor(room: string, name: string): Promise<AgentCursor> {
    return this.cursors.get(room, name);
  }
  async moveDelivered(room: string, name: string, from: number, to: number, nowMs: number): Promise<boolean> {
    return this.cursors.moveDelivered(room, name, from, to, nowMs);
  }
  async raiseRead(room: string, name: string, seq: number, nowMs: number): Promise<void> {
    this.cursors.raiseRead(room, name, seq, nowMs);
  }
  async listCursors(room: string): Promise<(AgentCursor & { name: string })[]> {
    return this.cursors.list(room);
  }
  async insertAudit(event: AuditEvent, maxAudit: number): Promise<number> {
    return this.codes.insertAudit(event, maxAudit);
  }
  async updateAuditDetail(id: number, detail: string): Promise<void> {
    this.codes.updateAuditDetail(id, detail);
  }
  async listAudit(limit: number): Promise<AuditEvent[]> {
    return this.codes.listAudit(limit);
  }
  async isEmpty(): Promise<boolean> {
    return this.bulk.isEmpty();
  }
  async dumpAll(): Promise<StoreDump> {
    if (this.pending.length) this.flushPosts();
    return this.bulk.dumpAll();
  }
  /** Throws StoreNotEmptyError (see store/bulk.ts) when the store already holds data. */
  async loadAll(dump: StoreDump): Promise<void> {
    this.bulk.loadAll(dump);
    this.dropCaches();
  }
  /** True once WAL checkpoints run off the event loop (see Checkpointer). */
  get checkpointsOffloaded(): boolean {
    return this.checkpointer?.offloaded ?? false;
  }
  async close(): Promise<void> {
    // Closing the worker ends any catch-up hold first; then the queued posts are written.
    await this.checkpointer?.close();
    if (this.pending.length) this.flushPosts();
    this.db.close();
  }
}
