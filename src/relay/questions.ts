import type { Message, Participants, PosterRow, AccessCode } from "./types.ts";
import type { PresenceEntry } from "./presence.ts";
import { round1 } from "./budget.ts";

/** Orders names and rooms by code unit, the way the SPEC sorts them (not by locale). */
export const compareText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** Every participant name of a room: posters ∪ unexpired code holders (SPEC §7.10). */
export function participantNames(p: Participants): Set<string> {
  return new Set([...p.posters, ...p.codeHolders]);
}

/** Members: participants plus `operator`, sorted, as `unknown_recipient.members` lists them. */
export function memberList(p: Participants): string[] {
  const names = participantNames(p);
  names.add("operator");
  return [...names].sort();
}

/**
 * `expects_reply_resolved` (SPEC §7.4): a stored `anyone` narrows to the only other participant
 * when exactly one remains besides the sender; every other value is returned unchanged.
 */
export function resolveExpects(m: Pick<Message, "expectsReply" | "from">, participants: Set<string>): string {
  if (m.expectsReply !== "anyone") return m.expectsReply;
  let only: string | null = null;
  for (const name of participants) {
    if (name === m.from) continue;
    if (only !== null) return "anyone";
    only = name;
  }
  return only ?? "anyone";
}

/** Whether any message needs the room's participants to be resolved. */
export function needsParticipants(messages: readonly Message[]): boolean {
  return messages.some((m) => m.expectsReply === "anyone");
}

export type RosterSource = "presence" | "code" | "messages";

export interface RosterRow {
  name: string;
  online: boolean;
  secondsSinceSeen: number | null;
  lastMessageSeconds: number | null;
  capabilities: string;
  sources: RosterSource[];
}

/**
 * The durable roster of SPEC §7.10, per room: presence ∪ posters ∪ unexpired code holders.
 * Rooms and rows are sorted by name.
 */
export function buildRoster(
  presence: PresenceEntry[],
  posters: PosterRow[],
  codes: AccessCode[],
  nowMs: number,
  isOnline: (e: PresenceEntry) => boolean,
): Record<string, RosterRow[]> {
  const rooms = new Map<string, Map<string, RosterRow>>();
  const row = (room: string, name: string): RosterRow => {
    let byName = rooms.get(room);
    if (!byName) rooms.set(room, (byName = new Map()));
    let r = byName.get(name);
    if (!r) {
      r = { name, online: false, secondsSinceSeen: null, lastMessageSeconds: null, capabilities: "", sources: [] };
      byName.set(name, r);
    }
    return r;
  };
  const seconds = (ms: number) => round1((nowMs - ms) / 1000);
  for (const e of presence) {
    const r = row(e.room, e.name);
    r.online = isOnline(e);
    r.secondsSinceSeen = seconds(e.seenMs);
    r.sources.push("presence");
  }
  for (const c of codes) {
    if (c.expiresMs !== null && c.expiresMs <= nowMs) continue;
    const r = row(c.room, c.name);
    r.capabilities = c.capabilities;
    if (!r.sources.includes("code")) r.sources.push("code");
  }
  for (const p of posters) {
    const r = row(p.room, p.name);
    r.lastMessageSeconds = seconds(p.lastTsMs);
    r.sources.push("messages");
  }
  const out: Record<string, RosterRow[]> = {};
  for (const room of [...rooms.keys()].sort()) {
    out[room] = [...rooms.get(room)!.values()].sort((a, b) => compareText(a.name, b.name));
  }
  return out;
}
