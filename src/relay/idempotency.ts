import { hashCode } from "./codes.ts";
import { invalid, RelayError } from "./errors.ts";
import type { IdempotencyRecord, Message } from "./types.ts";
import type { Store } from "./ports.ts";

/** Longest accepted `Idempotency-Key` header, in characters. */
export const IDEMPOTENCY_KEY_MAX = 200;
/** How long a key keeps its first answer: a day covers any client's retry loop. */
export const IDEMPOTENCY_WINDOW_MS = 24 * 3600_000;

/** The header's key, or null when absent. Throws 422 `invalid` for an empty or over-long key. */
export function checkIdempotencyKey(raw: string | null | undefined): string | null {
  if (raw === null || raw === undefined) return null;
  if (raw.length === 0 || raw.length > IDEMPOTENCY_KEY_MAX) {
    throw invalid("Idempotency-Key", `The Idempotency-Key header must be 1-${IDEMPOTENCY_KEY_MAX} characters (this one has ${raw.length}).`);
  }
  return raw;
}

/** What identifies "the same body": the SHA-256 of its JSON (so key order counts as different). */
export function bodyHash(body: unknown): string {
  return hashCode(JSON.stringify(body) ?? "");
}

/** Scope of an agent's keys: keys are per (room, name); the operator has one scope of its own. */
export const agentScope = (room: string, name: string) => `agent\u0000${room}\u0000${name}`;
export const OPERATOR_SCOPE = "operator";

const reused = (key: string) => new RelayError("idempotency_key_reused",
  `The Idempotency-Key ${JSON.stringify(key.slice(0, 40))} was used with a different body within 24 h; use a new key for a new message.`,
  { field: "Idempotency-Key" });

/** The first answer for a key, when `found` was stored with the same body; throws 422 `idempotency_key_reused` otherwise. */
export function replay(found: { bodyHash: string; message: Message }, record: IdempotencyRecord): Message {
  if (found.bodyHash !== record.bodyHash) throw reused(record.key);
  return found.message;
}

/**
 * Keys whose first post is still being committed, in this process. Retries that arrive while
 * the first is in flight (the same group-commit tick) wait for its answer instead of racing it
 * to the durable table. No I/O.
 */
export class InFlightKeys {
  private readonly running = new Map<string, { bodyHash: string; answer: Promise<Message> }>();

  /** Runs `first` once per (scope, key) at a time; concurrent callers with the same body share its answer. */
  run(record: IdempotencyRecord, first: () => Promise<Message>): Promise<Message> {
    const id = `${record.scope}\u0000${record.key}`;
    const busy = this.running.get(id);
    if (busy) {
      if (busy.bodyHash !== record.bodyHash) return Promise.reject(reused(record.key));
      return busy.answer;
    }
    const answer = first().finally(() => this.running.delete(id));
    this.running.set(id, { bodyHash: record.bodyHash, answer });
    return answer;
  }
}

/** The durable form of a key for `scope`, valid for 24 h from `nowMs`. */
export function keyRecord(scope: string, key: string, body: unknown, nowMs: number): IdempotencyRecord {
  return { scope, key, bodyHash: bodyHash(body), freshSinceMs: nowMs - IDEMPOTENCY_WINDOW_MS };
}

/** A key another process stored between our look-up and our insert; `postOnce` looks it up again. */
export class DuplicateKey extends Error {}

/**
 * Runs `first` once per key: a retry in flight waits for the first attempt, a later one gets the
 * stored first answer, and a key stored by another process meanwhile (the insert refused it as
 * DuplicateKey) is looked up after the fact. Throws 422 `idempotency_key_reused` for another body.
 */
export function postOnce(store: Pick<Store, "findIdempotent">, inFlight: InFlightKeys, record: IdempotencyRecord, first: () => Promise<Message>): Promise<Message> {
  const stored = () => store.findIdempotent(record.scope, record.key, record.freshSinceMs);
  return inFlight.run(record, async () => {
    const found = await stored();
    if (found) return replay(found, record);
    try {
      return await first();
    } catch (err) {
      const raced = err instanceof DuplicateKey ? await stored() : null;
      if (raced) return replay(raced, record);
      throw err;
    }
  });
}
