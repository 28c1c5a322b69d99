import { invalid, RelayError } from "./errors.ts";

/** Names, sender names and rooms (SPEC §4.2): 1..64 chars, alphanumeric first, then `._-`. */
export const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
export const NAME_MAX = 64;
export const CAPABILITIES_MAX = 400;
export const TARGET_MAX = 256;
/** Words that address nobody in particular; never a code's name (SPEC §4.2). */
export const RESERVED_NAMES = ["all", "anyone", "none", "operator"] as const;

/** Code points in `s`, a surrogate pair counting as one. */
export function codePointLength(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xdc00 && c <= 0xdfff && i > 0) {
      const p = s.charCodeAt(i - 1);
      if (p >= 0xd800 && p <= 0xdbff) n--;
    }
  }
  return n;
}

/** Throws 422 `invalid` unless `value` is a string (a well-formed one: no lone surrogates). */
export function requireString(value: unknown, field: string): string {
  if (typeof value !== "string") throw invalid(field, `${field} must be a string.`);
  if (!value.isWellFormed()) throw invalid(field, `${field} contains an unpaired UTF-16 surrogate.`);
  return value;
}

/** A string field that may be absent or null: returns undefined for both. */
export function optionalString(value: unknown, field: string): string | undefined {
  return value === undefined || value === null ? undefined : requireString(value, field);
}

/** A message text: 1..max code points, stored exactly as sent. Throws 422 `invalid` (field `text`). */
export function checkText(value: unknown, max: number): string {
  if (value === undefined || value === null) throw invalid("text", "text is required.");
  const text = requireString(value, "text");
  const len = codePointLength(text);
  if (len < 1) throw invalid("text", "text must not be empty.");
  if (len > max) throw invalid("text", `text is ${len} characters; the limit is ${max}.`);
  return text;
}

/** A name or room per SPEC §4.2. Throws 422 `invalid` naming `field`. */
export function checkName(value: unknown, field: string): string {
  const name = requireString(value, field);
  if (name.length < 1 || name.length > NAME_MAX || !NAME_PATTERN.test(name)) {
    throw invalid(field, `${field} must be 1-${NAME_MAX} characters of letters, digits, '.', '_' or '-', starting with a letter or digit.`);
  }
  return name;
}

/** A name a code may carry: a valid name that is not a reserved word. */
export function checkAgentName(value: unknown, field = "name"): string {
  const name = checkName(value, field);
  if ((RESERVED_NAMES as readonly string[]).includes(name.toLowerCase())) {
    throw invalid(field, `${field} "${name}" is reserved (all, anyone, none, operator); choose another.`);
  }
  return name;
}

/** A `/admin/say` sender: a valid name except all/anyone/none (operator is the default). */
export function checkSenderName(value: unknown): string {
  const name = checkName(value, "sender");
  if (["all", "anyone", "none"].includes(name.toLowerCase())) {
    throw invalid("sender", `sender "${name}" is reserved; use operator or another name.`);
  }
  return name;
}

/** Capabilities: absent/null → "", else a string of at most 400 code points. */
export function checkCapabilities(value: unknown): string {
  const caps = optionalString(value, "capabilities") ?? "";
  if (codePointLength(caps) > CAPABILITIES_MAX) {
    throw invalid("capabilities", `capabilities must be at most ${CAPABILITIES_MAX} characters.`);
  }
  return caps;
}

/** Parses an integer query or path parameter (SPEC §1.1). Absent → `fallback`. Throws 422 `invalid`. */
export function parseIntParam(raw: string | undefined | null, field: string, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (raw === undefined || raw === null) return fallback;
  if (!/^-?[0-9]+$/.test(raw)) throw invalid(field, `${field} must be a whole number.`);
  const n = Number(raw);
  if (!Number.isSafeInteger(n)) throw invalid(field, `${field} is out of range.`);
  if (n < min || n > max) {
    throw invalid(field, max === Number.MAX_SAFE_INTEGER ? `${field} must be at least ${min}.` : `${field} must be from ${min} to ${max}.`);
  }
  return n;
}

/** Throws 422 `invalid` (field `body`) unless the parsed body is a JSON object. */
export function requireObject(body: unknown): Record<string, unknown> {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new RelayError("invalid", "The request body must be a JSON object.", { field: "body" });
  }
  return body as Record<string, unknown>;
}
