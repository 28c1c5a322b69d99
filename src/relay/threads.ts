import { invalid } from "./errors.ts";
import type { Message } from "./types.ts";

/** `reply_to` of a post: null when absent; throws 422 `invalid` unless a whole number >= 1. */
export function parseReplyTo(raw: unknown): number | null {
  if (raw === undefined || raw === null) return null;
  if (typeof raw !== "number" || !Number.isSafeInteger(raw) || raw < 1) {
    throw invalid("reply_to", "reply_to must be the seq (a whole number >= 1) of a message in your room.");
  }
  return raw;
}

/**
 * The thread a reply joins: the parent's thread root. `parent` is the stored message (null when
 * unknown); `viewer` null is the operator, who sees every message. Throws 422 `invalid` for an
 * unknown, pruned or invisible parent, without saying which (a DM between others stays private).
 */
export function joinThread(replyTo: number, parent: Message | null, viewer: string | null): { replyTo: number; thread: number } {
  const visible = parent && (viewer === null || parent.to === "all" || parent.to === viewer || parent.from === viewer);
  if (!visible) {
    throw invalid("reply_to", `reply_to ${replyTo} is not a message you can see in this room (unknown, pruned, or a direct message between others).`);
  }
  return { replyTo, thread: parent.thread };
}

/** `?thread=` of `/history`: null when absent; throws 422 `invalid` unless a whole number >= 1. */
export function parseThreadParam(raw: string | undefined): number | null {
  if (raw === undefined || raw === "") return null;
  const n = /^[0-9]+$/.test(raw) ? Number(raw) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < 1) throw invalid("thread", "thread must be the seq (a whole number >= 1) of a thread's root message.");
  return n;
}
