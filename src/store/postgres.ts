import { SQL } from "bun";
import type {
  AccessCode, AgentCursor, AuditEvent, InsertCodeInput, InsertCodeResult, InsertMessageInput, InsertMessageResult,
  LapsedLease, Message, Participants, PosterRow, ReceiptMark, ReceiptTimes, RoomSnapshot, RoomStatus, RoomSummary,
} from "../relay/types.ts";
import type { BulkStore, Store, StoreDump } from "../relay/ports.ts";
import { describePgError, isConnectionError, maskUrl, splitSchema, unavailable } from "./pg-errors.ts";
import { PgBulkQueries } from "./pg-bulk.ts";
import { PgCodeQueries } from "./pg-codes.ts";
import { PgCursorQueries } from "./pg-cursors.ts";
import { PgDeliveryQueries } from "./pg-delivery.ts";
import { PgGroupCommit, type NotifyTracker } from "./pg-group-commit.ts";
import { PgMessageQueries } from "./pg-messages.ts";
import { migratePg } from "./pg-migrations.ts";

export { describePgError, isConnectionError, isPostgresUrl, maskUrl, splitSchema, unavailable } from "./pg-errors.ts";
export type { NotifyTracker } from "./pg-group-commit.ts";

/** Pool size per instance (the LISTEN connection comes on top); batching keeps few in use. */
const DEFAULT_POOL = 10;

export interface PgStoreOptions {
  /** Work in this schema (created when missing) instead of the URL's default; tests use one per test. */
  schema?: string;
  max?: number;
  /** Seconds before an idle pooled connection is closed (default 30). */
  idleSeconds?: number;
}


type Lookup = { hash: string; resolve: (c: AccessCode | null) => void; reject: (e: unknown) => void };

/**
 * The Store on PostgreSQL through Bun's built-in client, for several instances on one database.
 * Posts are group-committed: everything queued while one batch is in flight goes in the next
 * single statement. Nothing is cached: another instance may change anything at any time.
 * Every write that other instances must see at once NOTIFYs its room in its own transaction.
 */
export class PgStore implements Store, BulkStore {
  readonly sql: SQL;
  /** Settles when the schema is checked and migrated; every query waits for it. */
  readonly ready: Promise<void>;
  private readonly messages: PgMessageQueries;
  private readonly codes: PgCodeQueries;
  private readonly cursors: PgCursorQueries;
  private readonly bulk: PgBulkQueries;
  private readonly delivery: PgDeliveryQueries;
  private readonly posts: PgGroupCommit;
  private lookups: Lookup[] = [];
  private notifies: NotifyTracker = { expect: () => {}, cancel: () => {} };
  /** argy_post takes the shared rate-limit slot in the post's own transaction (migration step 4). */
  readonly takesRateInPost = true;

  /**
   * Opens a pool and starts the schema check at once (queries wait for it); `open` is the
   * variant that waits and fails with a one-line reason.
   */
  constructor(readonly url: string, options: PgStoreOptions = {}) {
    const { url: plain, schema: fromUrl } = splitSchema(url);
    const schema = options.schema ?? fromUrl;
    const sql = new SQL({
      url: plain, max: options.max ?? DEFAULT_POOL, idleTimeout: options.idleSeconds ?? 30, connectionTimeout: 10,
      ...(schema ? { connection: { search_path: schema } } : {}),
    });
    this.sql = sql;
    this.messages = new PgMessageQueries(this.sql);
    this.codes = new PgCodeQueries(this.sql);
    this.cursors = new PgCursorQueries(this.sql);
    this.bulk = new PgBulkQueries(this.sql);
    this.delivery = new PgDeliveryQueries(this.sql);
    this.posts = new PgGroupCommit(this.messages, (query) => this.run(query), () => this.notifies);
    this.ready = migratePg(sql, schema ? `${maskUrl(url)} (schema ${schema})` : maskUrl(url), schema);
    this.ready.catch(() => {});
  }

  /** Connects, checks and migrates; throws an Error whose message is one line without the password. */
  static async open(url: string, options: PgStoreOptions = {}): Promise<PgStore> {
    const store = new PgStore(url, options);
    try {
      await store.ready;
    } catch (err) {
      await store.sql.close().catch(() => {});
      throw new Error(describePgError(err, url));
    }
    return store;
  }

  /** Tells the bus which rooms this instance is about to NOTIFY, so it can tell its own echoes from remote changes. */
  trackNotifies(tracker: NotifyTracker): void {
    this.notifies = tracker;
  }

  /** The LISTEN/NOTIFY channel of this store's schema. */
  async channel(): Promise<string> {
    return this.run(async () => (await this.sql`SELECT argy_channel() AS ch`)[0].ch);
  }

  /** True when the database answers a trivial query within `timeoutMs` (for /health). */
  async ping(timeoutMs = 2000): Promise<boolean> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<boolean>((r) => (timer = setTimeout(() => r(false), timeoutMs)));
    const probe = (async () => {
      try {
        await this.ready;
        await this.sql`SELECT 1`;
        return true;
      } catch {
        return false;
      }
    })();
    const ok = await Promise.race([probe, timeout]);
    clearTimeout(timer);
    return ok;
  }

  /**
   * Runs one query (or transaction) once the schema is ready. A lost or refused connection
   * becomes RelayError `unavailable` (503): the database, not the client, is at fault.
   */
  private async run<T>(query: () => Promise<T>): Promise<T> {
    try {
      await this.ready;
      return await query();
    } catch (err) {
      throw isConnectionError(err) ? unavailable() : err;
    }
  }

  /** Queues the post for the next group commit (`PgGroupCommit`); resolves once it is committed. */
  insertMessage(input: InsertMessageInput): Promise<InsertMessageResult> {
    return this.posts.insert(input);
  }

  async readSince(room: string, since: number, viewer: string): Promise<RoomSnapshot> {
    return this.run(() => this.messages.readSince(room, since, viewer));
  }
  async readTail(room: string, limit: number): Promise<RoomSnapshot> {
    return this.run(() => this.messages.readTail(room, limit));
  }
  async history(room: string, viewer: string, limit: number, thread: number | null = null): Promise<Message[]> {
    return this.run(() => this.messages.history(room, viewer, limit, thread));
  }
  async getMessage(room: string, seq: number): Promise<Message | null> {
    return this.run(() => this.messages.getMessage(room, seq));
  }
  async claimMessage(room: string, seq: number, name: string, leaseUntilMs: number | null): Promise<string | null> {
    await this.run(async () => {});
    this.notifies.expect(room);
    let won = false;
    try {
      return await this.run(() => this.messages.claimMessage(room, seq, name, leaseUntilMs, () => (won = true)));
    } finally {
      if (!won) this.notifies.cancel(room);
    }
  }
  async renewLease(room: string, seq: number, name: string, leaseUntilMs: number): Promise<boolean> {
    return this.run(() => this.delivery.renewLease(room, seq, name, leaseUntilMs));
  }
  async releaseLease(room: string, seq: number, name: string): Promise<boolean> {
    return this.run(() => this.delivery.releaseLease(room, seq, name));
  }
  async expireLeases(nowMs: number): Promise<LapsedLease[]> {
    return this.run(() => this.delivery.expireLeases(nowMs));
  }
  async resetAgentRun(room: string): Promise<void> {
    await this.run(() => this.messages.resetAgentRun(room));
  }
  async findIdempotent(scope: string, key: string, sinceMs: number): Promise<{ bodyHash: string; message: Message } | null> {
    return this.run(() => this.delivery.findIdempotent(scope, key, sinceMs));
  }
  async purgeIdempotencyKeys(cutoffMs: number): Promise<number> {
    return this.run(() => this.delivery.purgeIdempotencyKeys(cutoffMs));
  }
  async recordReceipts(marks: ReceiptMark[]): Promise<void> {
    if (marks.length) await this.run(() => this.delivery.recordReceipts(marks));
  }
  async receiptTimes(room: string, seq: number): Promise<ReceiptTimes[]> {
    return this.run(() => this.delivery.receiptTimes(room, seq));
  }
  async getRoomStatus(room: string): Promise<RoomStatus> {
    return this.run(() => this.messages.getRoomStatus(room));
  }
  async setRoomStatus(status: RoomStatus): Promise<void> {
    await this.run(async () => {});
    this.notifies.expect(status.name);
    try {
      await this.run(() => this.messages.setRoomStatus(status));
    } catch (err) {
      this.notifies.cancel(status.name);
      throw err;
    }
  }
  async listRoomStatuses(): Promise<RoomStatus[]> {
    return this.run(() => this.messages.listRoomStatuses());
  }
  async listRoomSummaries(): Promise<RoomSummary[]> {
    return this.run(() => this.messages.listRoomSummaries());
  }
  async participants(room: string, nowMs: number): Promise<Participants> {
    const [posters, holders] = await this.run(() => Promise.all([this.messages.roomPosters(room), this.codes.codeHolders(room, nowMs)]));
    return { posters: new Set(posters), codeHolders: new Set(holders) };
  }
  async listPosters(): Promise<PosterRow[]> {
    return this.run(() => this.messages.listPosters());
  }
  async adminMessages(room: string | null, before: number | null, limit: number): Promise<Message[]> {
    return this.run(() => this.messages.adminMessages(room, before, limit));
  }
  async waiting(limit: number): Promise<Message[]> {
    return this.run(() => this.messages.waiting(limit));
  }
  async countMessages(): Promise<number> {
    return this.run(() => this.messages.countMessages());
  }
  async insertCode(input: InsertCodeInput): Promise<InsertCodeResult> {
    return this.run(() => this.codes.insertCode(input));
  }
  /**
   * Code lookups of one event-loop turn share one query (every request authenticates, so this
   * is the busiest query). Nothing is cached: a lookup is always a query sent after it was
   * asked, so a code revoked on any instance is refused by the next request everywhere.
   */
  findCode(presentedHash: string): Promise<AccessCode | null> {
    const { promise, resolve, reject } = Promise.withResolvers<AccessCode | null>();
    this.lookups.push({ hash: presentedHash, resolve, reject });
    if (this.lookups.length === 1) setImmediate(() => void this.flushLookups());
    return promise;
  }

  private async flushLookups(): Promise<void> {
    const batch = this.lookups;
    this.lookups = [];
    try {
      const found = await this.run(() => this.codes.findCodes([...new Set(batch.map((l) => l.hash))]));
      for (const l of batch) l.resolve(found.get(l.hash) ?? null);
    } catch (err) {
      for (const l of batch) l.reject(err);
    }
  }
  async listCodes(): Promise<AccessCode[]> {
    return this.run(() => this.codes.listCodes());
  }
  async countCodes(): Promise<number> {
    return this.run(() => this.codes.countCodes());
  }
  async deleteCodes(target: string, targetHash: string, room: string | null) {
    return this.run(() => this.codes.deleteCodes(target, targetHash, room));
  }
  async hashPlaintextCodes(): Promise<number> {
    return this.run(() => this.codes.hashPlaintextCodes());
  }
  async purgeExpiredCodes(cutoffMs: number): Promise<number> {
    return this.run(() => this.codes.purgeExpiredCodes(cutoffMs));
  }
  async getCursor(room: string, name: string): Promise<AgentCursor> {
    return this.run(() => this.cursors.get(room, name));
  }
  async moveDelivered(room: string, name: string, from: number, to: number, nowMs: number): Promise<boolean> {
    return this.run(() => this.cursors.moveDelivered(room, name, from, to, nowMs));
  }
  async raiseRead(room: string, name: string, seq: number, nowMs: number): Promise<void> {
    await this.run(() => this.cursors.raiseRead(room, name, seq, nowMs));
  }
  async listCursors(room: string): Promise<(AgentCursor & { name: string })[]> {
    return this.run(() => this.cursors.list(room));
  }
  async insertAudit(event: AuditEvent, maxAudit: number): Promise<number> {
    return this.run(() => this.codes.insertAudit(event, maxAudit));
  }
  async updateAuditDetail(id: number, detail: string): Promise<void> {
    await this.run(() => this.codes.updateAuditDetail(id, detail));
  }
  async listAudit(limit: number): Promise<AuditEvent[]> {
    return this.run(() => this.codes.listAudit(limit));
  }
  async isEmpty(): Promise<boolean> {
    return this.run(() => this.bulk.isEmpty());
  }
  async dumpAll(): Promise<StoreDump> {
    return this.run(() => this.bulk.dumpAll());
  }
  async loadAll(dump: StoreDump): Promise<void> {
    await this.run(() => this.bulk.loadAll(dump));
  }
  /** Writes what is queued, then closes the pool. */
  async close(): Promise<void> {
    await this.posts.drain();
    await this.ready.catch(() => {});
    await this.sql.close({ timeout: 5 });
  }
}
