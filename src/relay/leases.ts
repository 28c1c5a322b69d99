import { invalid } from "./errors.ts";
import type { Message, ReopenedQuestion } from "./types.ts";

/** Bounds of a claim lease, in seconds (the config clamps ARGYBARGY_CLAIM_TTL to the same). */
export const LEASE_MIN_SECONDS = 10;
export const LEASE_MAX_SECONDS = 86_400;
/** Lapses remembered per room for woken polls; a poll parked longer sees only the newest. */
const REMEMBERED = 64;

/**
 * `ttl_s` of a claim, renew or the default: a 1.0 client's claim has no body and gets `fallback`.
 * Throws 422 `invalid` outside LEASE_MIN_SECONDS..LEASE_MAX_SECONDS.
 */
export function parseTtl(body: unknown, fallback: number): number {
  if (body === undefined || body === null) return fallback;
  if (typeof body !== "object" || Array.isArray(body)) throw invalid("body", "The body, when present, must be a JSON object such as {\"ttl_s\": 600}.");
  const raw = (body as Record<string, unknown>).ttl_s;
  if (raw === undefined || raw === null) return fallback;
  if (typeof raw !== "number" || !Number.isSafeInteger(raw) || raw < LEASE_MIN_SECONDS || raw > LEASE_MAX_SECONDS) {
    throw invalid("ttl_s", `ttl_s must be a whole number of seconds from ${LEASE_MIN_SECONDS} to ${LEASE_MAX_SECONDS}.`);
  }
  return raw;
}

/** Whether the lease on `m` ran out by `nowMs` (a lease the store has not expired yet still counts as over). */
export function leaseOver(m: Pick<Message, "leaseUntilMs">, nowMs: number): boolean {
  return m.leaseUntilMs !== null && m.leaseUntilMs <= nowMs;
}

/** The operator inbox's note on a reopened question, e.g. "claim expired (was: bob)"; null when none lapsed. */
export function lapseNote(m: Pick<Message, "lapsedBy" | "lapse" | "claimedBy">): string | null {
  if (m.claimedBy !== null || m.lapsedBy === null || m.lapse === null) return null;
  return `claim ${m.lapse} (was: ${m.lapsedBy})`;
}

interface Lapse extends ReopenedQuestion { n: number; to: string; from: string }

/**
 * Recent lease lapses per room, numbered, so a poll that parked before a lapse answers with the
 * reopened question instead of sleeping on (the lapse is no new message, so the tail does not
 * show it). No I/O.
 */
export class ReopenBoard {
  private counter = 0;
  private readonly recent = new Map<string, Lapse[]>();

  /** The position a poll remembers when it starts. */
  mark(): number {
    return this.counter;
  }

  /** Records that `m`'s lease held by `was` ended. */
  note(m: Pick<Message, "room" | "seq" | "to" | "from">, was: string, why: ReopenedQuestion["why"]): void {
    const list = this.recent.get(m.room) ?? [];
    list.push({ n: ++this.counter, seq: m.seq, was, why, to: m.to, from: m.from });
    if (list.length > REMEMBERED) list.shift();
    this.recent.set(m.room, list);
  }

  /** Lapses in `room` after `mark` of questions `viewer` may take (not its own, to all or to it). */
  since(room: string, mark: number, viewer: string): ReopenedQuestion[] {
    const list = this.recent.get(room);
    if (!list || list[list.length - 1]!.n <= mark) return [];
    return list.filter((l) => l.n > mark && l.from !== viewer && (l.to === "all" || l.to === viewer))
      .map(({ seq, was, why }) => ({ seq, was, why }));
  }
}
