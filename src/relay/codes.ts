import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { invalid, RelayError } from "./errors.ts";

/**
 * A new code or admin token: 24 CSPRNG bytes, base64url without padding (32 characters).
 * Never starting with "-", so a code pasted as a command-line argument is not taken for a flag.
 */
export function newSecret(): string {
  for (;;) {
    const secret = randomBytes(24).toString("base64url");
    if (!secret.startsWith("-")) return secret;
  }
}

/** SHA-256 hex digest: the stored form of a hashed code. */
export function hashCode(code: string): string {
  return createHash("sha256").update(code, "utf8").digest("hex");
}

/** First 4 + "…" + last 4: how a hashed code is shown (SPEC §4.5). */
export function maskCode(code: string): string {
  return code.length <= 8 ? "…" : `${code.slice(0, 4)}…${code.slice(-4)}`;
}

/** Constant-time equality of two secrets; different lengths compare false without leaking where. */
export function secretsEqual(presented: string, actual: string): boolean {
  const a = createHash("sha256").update(presented, "utf8").digest();
  const b = createHash("sha256").update(actual, "utf8").digest();
  return timingSafeEqual(a, b) && presented.length === actual.length;
}

const MINUTE = 60_000;
const UNIT_MS: Record<string, number> = {
  months: 30 * 1440 * MINUTE, month: 30 * 1440 * MINUTE, mo: 30 * 1440 * MINUTE,
  weeks: 7 * 1440 * MINUTE, week: 7 * 1440 * MINUTE, w: 7 * 1440 * MINUTE,
  days: 1440 * MINUTE, day: 1440 * MINUTE, d: 1440 * MINUTE,
  hours: 60 * MINUTE, hour: 60 * MINUTE, hrs: 60 * MINUTE, hr: 60 * MINUTE, h: 60 * MINUTE,
  minutes: MINUTE, minute: MINUTE, mins: MINUTE, min: MINUTE, m: MINUTE,
};
const EXPIRY = /^([0-9]+(?:\.[0-9]+)?)\s*([a-z]*)$/;
/** 9999-12-31T23:59:59.999Z: the last instant an ISO-8601 timestamp can name with four digits. */
const MAX_DEADLINE_MS = 253402300799999;

/**
 * Parses the expiry grammar of SPEC §4.4 into a deadline (epoch ms) or null for "never".
 * Throws 422 `invalid` for a non-string, 400 `bad_request` (field `expires`) for bad text.
 */
export function parseExpiry(value: unknown, nowMs: number): number | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== "string") throw invalid("expires", "expires must be a string or null.");
  const input = value.trim().toLowerCase();
  if (input === "" || input === "never" || input === "none" || input === "0") return null;
  const m = EXPIRY.exec(input);
  const unit = m ? (m[2] === "" ? "h" : m[2]!) : "";
  const perUnit = UNIT_MS[unit];
  if (!m || perUnit === undefined) throw badExpiry(value);
  const deadline = nowMs + Number(m[1]) * perUnit;
  if (!Number.isFinite(deadline) || deadline > MAX_DEADLINE_MS) throw badExpiry(value);
  return Math.round(deadline);
}

function badExpiry(value: string): RelayError {
  const shown = value.length > 40 ? `${value.slice(0, 40)}…` : value;
  return new RelayError("bad_request", `Could not understand expires ${JSON.stringify(shown)}; use e.g. 10m, 30m, 60m, 1d, 1w, 1mo, never.`, { field: "expires" });
}

/** The code in an `Authorization` value: after `bearer ` (any case), else the whole value; trimmed. `Basic` never is one. */
export function parseBearer(header: string | null): string | null {
  if (header === null || /^basic /i.test(header)) return null;
  const code = (/^bearer /i.test(header) ? header.slice(7) : header).trim();
  return code || null;
}
