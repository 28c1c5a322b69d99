import type { PollBudget, ReadMessage } from "../relay/relay.ts";
import type { AccessCode, Message, RoomStatus } from "../relay/types.ts";

/** Domain → wire field names, in one place (STYLE: wire fields as the SPEC names them). */

export const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

/** The seven-field message echo of `POST /messages` and `/admin/say`. */
export function wireMessage(m: Message) {
  return { seq: m.seq, ts: iso(m.tsMs), from: m.from, to: m.to, text: m.text, expects_reply: m.expectsReply, claimed_by: m.claimedBy };
}

/** A message on a read path, with `expects_reply_resolved` (and `room` on admin feeds). */
export function wireReadMessage(m: ReadMessage, withRoom = false) {
  const base = { ...wireMessage(m), expects_reply_resolved: m.expectsReplyResolved };
  return withRoom ? { ...base, room: m.room } : base;
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
