import type { PollBudget, ReadMessage } from "../relay/relay.ts";
import { lapseNote } from "../relay/leases.ts";
import type { OperatorMessage } from "../relay/operator.ts";
import type { Receipt } from "../relay/receipts.ts";
import type { AccessCode, Message, ReopenedQuestion, RoomStatus } from "../relay/types.ts";

/** Domain → wire field names, in one place (STYLE: wire fields as the SPEC names them). */

export const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

/** The message echo of `POST /messages` and `/admin/say`: SPEC §5.0's seven fields, then issue 10's thread and lease fields. */
export function wireMessage(m: Message) {
  return {
    seq: m.seq, ts: iso(m.tsMs), from: m.from, to: m.to, text: m.text, expects_reply: m.expectsReply, claimed_by: m.claimedBy,
    reply_to: m.replyTo, thread: m.thread, claim_expires_at: iso(m.leaseUntilMs),
  };
}

/** A message on a read path, with `expects_reply_resolved` (and `room` on admin feeds). */
export function wireReadMessage(m: ReadMessage, withRoom = false) {
  const base = { ...wireMessage(m), expects_reply_resolved: m.expectsReplyResolved };
  return withRoom ? { ...base, room: m.room } : base;
}

/** A message in an operator view: room, the inbox note of a lapsed claim, and compact receipts. */
export function wireOperatorMessage(m: OperatorMessage) {
  const r = m.receipts;
  return {
    ...wireReadMessage(m, true),
    claim_note: lapseNote(m),
    receipts: { recipients: r.recipients, delivered: r.delivered.length, read: r.read.length, delivered_to: r.delivered, read_by: r.read },
  };
}

/** One recipient's receipt: ISO times, null when not (yet) delivered or read. */
export function wireReceipt(r: Receipt) {
  return { name: r.name, delivered_at: iso(r.deliveredMs), read_at: iso(r.readMs) };
}

export function wireReopened(r: ReopenedQuestion) {
  return { seq: r.seq, was: r.was, why: r.why };
}

export function wireStatus(s: RoomStatus) {
  return { name: s.name, status: s.status, closed_at: iso(s.closedAtMs), closed_by: s.closedBy };
}

export function wireBudget(b: PollBudget) {
  return {
    waited_seconds: b.waitedSeconds, room_quiet_seconds: b.roomQuietSeconds, idle_seconds: b.idleSeconds,
    max_idle_seconds: b.maxIdleSeconds, seconds_left: b.secondsLeft, should_exit: b.shouldExit, reason: b.reason,
  };
}

/** A code row as listings show it: the display form, never a stored hash. */
export function wireCode(c: AccessCode) {
  return { code: c.display, name: c.name, room: c.room, capabilities: c.capabilities, created: iso(c.createdMs), expires: iso(c.expiresMs) };
}
