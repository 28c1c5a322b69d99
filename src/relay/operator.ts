import { issueCode, revokeCodes } from "./access.ts";
import { newSecret } from "./codes.ts";
import { invalid, RelayError } from "./errors.ts";
import { checkIdempotencyKey, keyRecord, OPERATOR_SCOPE } from "./idempotency.ts";
import { isPaused } from "./loop-guard.ts";
import { recipientsOf, summarize, type Receipt, type ReceiptSummary } from "./receipts.ts";
import { instruction } from "./onboarding.ts";
import { round1 } from "./budget.ts";
import { buildRoster, compareText } from "./questions.ts";
import { openStatus } from "./rooms.ts";
import { CHANGES_KEY } from "./changes.ts";
import type { ReadMessage, Relay } from "./relay.ts";
import type { AccessCode, AgentCursor, Message, PosterRow, RoomStatus, RoomSummary } from "./types.ts";
import { checkName, checkSenderName, checkText, NAME_MAX, optionalString, requireObject } from "./validate.ts";

/** Rows of `/admin/state` `messages` (SPEC §6.1) and of the inbox. */
export const STATE_PAGE = 60;
export const WAITING_MAX = 50;

/** Persists a regenerated admin token (the data dir's `admin.token`, or the database when shared). */
export interface TokenFile {
  save(token: string): void | Promise<void>;
}

/** A message in an operator view: with its receipt counts and names. */
export type OperatorMessage = ReadMessage & { receipts: ReceiptSummary };
export type WaitingMessage = OperatorMessage & { waitingSeconds: number };

export interface OperatorState {
  peers: Record<string, { name: string; online: boolean; secondsSinceSeen: number }[]>;
  roster: ReturnType<typeof buildRoster>;
  codes: AccessCode[];
  room: string | null;
  rooms: (RoomSummary & { secondsSinceLast: number; status: RoomStatus; paused: boolean })[];
  roomStatus: RoomStatus[];
  waiting: WaitingMessage[];
  messages: OperatorMessage[];
}


/** The operator's actions (SPEC §6): speak, invite, revoke, close/reopen, observe. */
export class Operator {
  constructor(private readonly relay: Relay, private readonly tokenFile: TokenFile) {}

  private get now(): number {
    return this.relay.clock.now();
  }

  /**
   * `POST /admin/say`, optionally under an `Idempotency-Key`: allowed in closed and paused rooms
   * (it resumes a paused one), no rate limit, no room quota. Throws 422.
   */
  async say(body: unknown, idempotencyKey: string | null = null): Promise<Message> {
    const key = checkIdempotencyKey(idempotencyKey);
    const b = requireObject(body);
    const text = checkText(b.text, this.relay.limits.maxText);
    const room = b.room === undefined ? "default" : checkName(b.room, "room");
    const sender = b.sender === undefined ? "operator" : checkSenderName(b.sender);
    const { to, expectsReply } = await this.relay.addressing(room, b.to, b.expects_reply);
    const thread = await this.relay.threadFor(room, b.reply_to, null);
    const draft = { room, from: sender, to, text, expectsReply, ...thread };
    const record = key === null ? null : keyRecord(OPERATOR_SCOPE, key, body, this.now);
    const speak = async () => {
      const message = await this.relay.commit(draft, { refuseIfClosed: false, maxRooms: 0, byOperator: true, idempotency: record });
      await this.relay.touch(room, sender, false);
      await this.relay.audit("say", sender, room, `-> ${to}`);
      return message;
    };
    return record === null ? speak() : this.relay.idempotent(record, speak);
  }

  /** `POST /admin/rooms/{room}/resume`: lifts the loop guard's pause without a message; wakes the room. */
  async resume(roomIn: string): Promise<{ room: string; paused: false }> {
    const room = checkName(roomIn, "room");
    await this.relay.store.resetAgentRun(room);
    this.relay.tails.resetAgentRun(room);
    this.relay.roomChanged(room);
    await this.relay.audit("room_resume", "operator", room, "");
    return { room, paused: false };
  }

  /** `GET /admin/messages/{room}/{seq}/receipts`: every recipient's delivered and read times. Throws 404. */
  async receipts(roomIn: string, seq: number): Promise<{ room: string; seq: number; receipts: Receipt[] }> {
    const room = checkName(roomIn, "room");
    const m = await this.relay.store.getMessage(room, seq);
    if (!m) throw new RelayError("not_found", `There is no message ${seq} in room ${room}.`);
    return { room, seq, receipts: await this.relay.receiptViews.ofMessage(m) };
  }

  /** `POST /admin/invite`: mints a code (plaintext shown once) with a pasteable instruction. */
  async invite(body: unknown, publicUrl: string) {
    const b = requireObject(body);
    const { code, row } = await issueCode(this.relay.store, b as never, {
      nowMs: this.now, hashCodes: this.relay.limits.hashCodes, maxCodes: this.relay.limits.maxCodes,
    });
    await this.relay.audit("invite", "admin", row.room, row.name);
    return { code, row, url: publicUrl, instruction: instruction(publicUrl, code, this.relay.limits) };
  }

  /** `POST /admin/revoke`: deletes by name or code value; the audit shows a matched code masked. */
  async revoke(body: unknown): Promise<number> {
    const b = requireObject(body);
    const { revoked, shown, room } = await revokeCodes(this.relay.store, b.target, b.room);
    await this.relay.audit("revoke", "admin", room ?? "", `${shown} (${revoked})`);
    return revoked;
  }

  /** Close or reopen a room; wakes every parked poll of it (SPEC §6.8). */
  async setRoomOpen(roomIn: string, open: boolean, body: unknown): Promise<RoomStatus> {
    const room = checkName(roomIn, "room");
    const by = parseBy(body);
    const status: RoomStatus = open ? openStatus(room) : { name: room, status: "closed", closedAtMs: this.now, closedBy: by };
    await this.relay.setRoomStatus(status);
    await this.relay.audit(open ? "room_reopen" : "room_close", by, room, open ? "" : new Date(status.closedAtMs!).toISOString());
    return status;
  }

  /** `POST /admin/regenerate-token`: the old token fails from the next request on. */
  async regenerateToken(): Promise<string> {
    const token = newSecret();
    await this.tokenFile.save(token);
    this.relay.adminToken = token;
    await this.relay.audit("regenerate_admin_token", "admin", "", "");
    this.relay.emit({ kind: "token_regenerated" });
    return token;
  }

  /** `GET /admin/state` (SPEC §6.1), from indexed queries and aggregates only. */
  async state(roomIn: string | undefined, before: number | null): Promise<OperatorState> {
    const room = roomIn === undefined || roomIn === "" ? null : checkName(roomIn, "room");
    if (before !== null && room === null) throw invalid("before", "before needs room.");
    await this.relay.syncPresence();
    const { store, presence } = this.relay;
    await this.relay.claims.expire();
    await this.relay.flushReceipts();
    const now = this.now;
    const [codes, posters, summaries, statuses, waitingRows, recent] = await Promise.all([
      store.listCodes(), store.listPosters(), store.listRoomSummaries(), store.listRoomStatuses(),
      store.waiting(WAITING_MAX), store.adminMessages(room, before, STATE_PAGE),
    ]);
    const entries = presence.list();
    const isOnline = (e: (typeof entries)[number]) => presence.isOnline(e, now);
    const peers: OperatorState["peers"] = {};
    for (const e of [...entries].sort((a, b) => compareText(a.room, b.room) || compareText(a.name, b.name))) {
      (peers[e.room] ??= []).push({ name: e.name, online: isOnline(e), secondsSinceSeen: round1((now - e.seenMs) / 1000) });
    }
    const statusOf = new Map(statuses.map((s) => [s.name, s]));
    const rooms = summaries
      .map((s) => ({
        ...s, secondsSinceLast: round1((now - s.lastTsMs) / 1000), status: statusOf.get(s.room) ?? openStatus(s.room),
        paused: isPaused(s.agentRun, this.relay.limits.loopGuard),
      }))
      .sort((a, b) => a.secondsSinceLast - b.secondsSinceLast || compareText(a.room, b.room));
    const withReceipts = await this.receiptSummaries(posters, codes);
    // SPEC §7.11 order: waiting_seconds (as shown, to 0.1 s) descending, then room, then seq.
    const waiting = (await withReceipts(await this.resolveAcrossRooms(waitingRows)))
      .map((m) => ({ ...m, waitingSeconds: round1((now - m.tsMs) / 1000) }))
      .sort((a, b) => b.waitingSeconds - a.waitingSeconds || compareText(a.room, b.room) || a.seq - b.seq);
    return {
      peers, roster: buildRoster(entries, posters, codes, now, isOnline), codes, room, rooms, roomStatus: statuses,
      waiting, messages: await withReceipts(await this.resolveAcrossRooms(recent)),
    };
  }

  /** Adds receipt counts and names to messages of any rooms, from one cursor listing per room. */
  private async receiptSummaries(posters: PosterRow[], codes: AccessCode[]) {
    const cursorsOf = new Map<string, Promise<Map<string, AgentCursor>>>();
    const cursors = (room: string) => {
      let c = cursorsOf.get(room);
      if (!c) cursorsOf.set(room, (c = this.relay.store.listCursors(room).then((rows) => new Map(rows.map((r) => [r.name, r])))));
      return c;
    };
    // Grouped by room once: recipientsOf scans what it is given for every message of the page.
    const postersIn = groupByRoom(posters);
    const codesIn = groupByRoom(codes);
    return async (messages: ReadMessage[]): Promise<OperatorMessage[]> => Promise.all(messages.map(async (m) => ({
      ...m, receipts: summarize(m, recipientsOf(m, postersIn.get(m.room) ?? [], codesIn.get(m.room) ?? []), await cursors(m.room)),
    })));
  }

  private async resolveAcrossRooms(messages: Message[]): Promise<ReadMessage[]> {
    const byRoom = new Map<string, Message[]>();
    for (const m of messages) (byRoom.get(m.room) ?? byRoom.set(m.room, []).get(m.room)!).push(m);
    const resolved = new Map<Message, ReadMessage>();
    for (const [room, list] of byRoom) {
      const out = await this.relay.resolve(room, list);
      list.forEach((m, i) => resolved.set(m, out[i]!));
    }
    return messages.map((m) => resolved.get(m)!);
  }

  /** `GET /admin/stats`. */
  async stats(startedMs: number) {
    await this.relay.syncPresence();
    const { store, presence } = this.relay;
    const now = this.now;
    const [codes, messages, rooms] = await Promise.all([store.countCodes(), store.countMessages(), store.listRoomSummaries()]);
    return {
      uptimeSeconds: Math.floor((now - startedMs) / 1000),
      onlinePeers: presence.list().filter((e) => presence.isOnline(e, now)).length,
      codes, messages, rooms: rooms.length,
    };
  }

  /** `GET /admin/changes` (SPEC §6.9): parks until the change counter passes `since`. Null when the client left. */
  async changes(since: number, waitSeconds: number, signal?: AbortSignal): Promise<{ cursor: number; changed: boolean; rooms: string[] } | null> {
    const { changes, waiters, limits } = this.relay;
    const deadline = this.now + Math.min(waitSeconds, limits.maxWait) * 1000;
    for (;;) {
      const generation = waiters.generation(CHANGES_KEY);
      // A cursor ahead of ours comes from before a restart: answer at once so the client resyncs.
      if (changes.cursor !== since || this.now >= deadline || this.relay.isClosing) {
        const changed = changes.cursor !== since;
        return { cursor: changes.cursor, changed, rooms: changed ? changes.roomsSince(since) : [] };
      }
      if ((await waiters.park(CHANGES_KEY, generation, deadline - this.now, signal)) === "aborted") return null;
    }
  }
}

function parseBy(body: unknown): string {
  if (body === undefined || body === null) return "operator";
  const b = requireObject(body);
  const raw = optionalString(b.by, "by");
  if (raw === undefined) return "operator";
  if (raw.length < 1 || raw.length > NAME_MAX) throw invalid("by", `by must be 1-${NAME_MAX} characters.`);
  return raw.trim() || "operator";
}

function groupByRoom<T extends { room: string }>(rows: T[]): Map<string, T[]> {
  const byRoom = new Map<string, T[]>();
  for (const r of rows) (byRoom.get(r.room) ?? byRoom.set(r.room, []).get(r.room)!).push(r);
  return byRoom;
}
