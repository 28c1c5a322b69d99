import { RelayError, type ErrorCode } from "../relay/errors.ts";

/** The one table of statuses (SPEC §1.3). */
export const STATUS: Record<ErrorCode, number> = {
  bad_request: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  method_not_allowed: 405,
  room_closed: 409,
  already_claimed: 409,
  name_taken: 409,
  payload_too_large: 413,
  invalid: 422,
  not_claimable: 422,
  unknown_recipient: 422,
  rate_limited: 429,
  too_many_polls: 429,
  unavailable: 503,
  room_paused: 429,
  not_holder: 409,
  idempotency_key_reused: 422,
  internal: 500,
};

/** Headers on every response (SPEC §1.4). */
export const BASE_HEADERS: Record<string, string> = {
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "x-frame-options": "DENY",
};

/** Extra headers on every JSON response. */
export const JSON_HEADERS: Record<string, string> = {
  "cache-control": "no-store",
  "content-security-policy": "default-src 'none'; frame-ancestors 'none'",
};

/** A compact JSON response with the security headers. */
export function jsonResponse(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { ...BASE_HEADERS, ...JSON_HEADERS, "content-type": "application/json; charset=utf-8", ...headers },
  });
}

/** The error envelope for a RelayError, with `Retry-After` for 429s. */
export function errorResponse(err: RelayError, headers: Record<string, string> = {}): Response {
  const extra = { ...err.extra };
  const retry = extra.retry_after;
  const h = typeof retry === "number" ? { ...headers, "retry-after": String(retry) } : headers;
  return jsonResponse(STATUS[err.code], { error: err.code, message: err.message, ...extra }, h);
}

/** The 500 envelope: a generic sentence and the request id that the server log carries. */
export function internalResponse(requestId: string): Response {
  return jsonResponse(500, { error: "internal", message: "Something went wrong inside the relay; the operator can find details in the server log.", request_id: requestId });
}

export const notFound = () => new RelayError("not_found", "There is nothing at this path; GET / describes the API.");
