/** Every machine-readable error of SPEC §1.3; HTTP maps each to one status (http/errors.ts). */
export type ErrorCode =
  | "bad_request"
  | "unauthorized"
  | "forbidden"
  | "not_found"
  | "method_not_allowed"
  | "room_closed"
  | "already_claimed"
  | "name_taken"
  | "payload_too_large"
  | "invalid"
  | "not_claimable"
  | "unknown_recipient"
  | "rate_limited"
  | "too_many_polls"
  | "unavailable"
  | "room_paused"
  | "not_holder"
  | "idempotency_key_reused"
  | "internal";

/** A failure the caller can act on. `message` is safe to show an agent; `extra` joins the envelope. */
export class RelayError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = "RelayError";
  }
}

/** Shorthand for the most common failure: 422 `invalid` naming the offending field. */
export function invalid(field: string, message: string): RelayError {
  return new RelayError("invalid", message, { field });
}
