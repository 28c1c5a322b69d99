import { hashCode, maskCode, newSecret, parseExpiry } from "./codes.ts";
import { RelayError } from "./errors.ts";
import type { AccessCode } from "./types.ts";
import type { Store } from "./ports.ts";
import { checkAgentName, checkCapabilities, checkName, optionalString, requireString, TARGET_MAX } from "./validate.ts";
import { invalid } from "./errors.ts";

export interface IssueRequest {
  name: unknown;
  room?: unknown;
  expires?: unknown;
  capabilities?: unknown;
}

export interface IssuedCode {
  code: string;
  row: AccessCode;
}

/**
 * Validates and stores a new code (SPEC §6.4 order: 422 → 403 quota → 400 expiry → 409 taken).
 * Shared by `POST /admin/invite` and the CLI, which passes `maxCodes` 0 (no quota).
 */
export async function issueCode(store: Store, req: IssueRequest, opts: { nowMs: number; hashCodes: boolean; maxCodes: number }): Promise<IssuedCode> {
  const name = checkAgentName(req.name, "name");
  const room = req.room === undefined || req.room === null ? "default" : checkName(req.room, "room");
  const capabilities = checkCapabilities(req.capabilities);
  if (req.expires !== undefined && req.expires !== null) requireString(req.expires, "expires");
  if (opts.maxCodes > 0 && (await store.countCodes()) >= opts.maxCodes) throw quotaError(opts.maxCodes);
  const expiresMs = parseExpiry(req.expires, opts.nowMs);
  const code = newSecret();
  const lookup = hashCode(code);
  const result = await store.insertCode({
    name, room, capabilities, createdMs: opts.nowMs, expiresMs, lookup, masked: maskCode(code),
    stored: opts.hashCodes ? lookup : code, hashed: opts.hashCodes, maxCodes: opts.maxCodes,
  });
  if (!result.ok) {
    if (result.reason === "code_quota") throw quotaError(opts.maxCodes);
    throw new RelayError("name_taken", `The name "${name}" already has an active code in room "${room}"; revoke it first or pick another name.`, { field: "name" });
  }
  return { code, row: result.code };
}

function quotaError(max: number): RelayError {
  return new RelayError("forbidden", `The code quota (${max}) is full; revoke unused codes first.`, { quota: "codes" });
}

export interface RevokeResult {
  revoked: number;
  /** How the target may be written into the audit log: masked when it matched a code. */
  shown: string;
  room: string | null;
}

/** Deletes codes by name or code value, optionally within one room (SPEC §4.6). */
export async function revokeCodes(store: Store, targetIn: unknown, roomIn: unknown): Promise<RevokeResult> {
  if (targetIn === undefined || targetIn === null) throw invalid("target", "target is required: a name or a code.");
  const target = requireString(targetIn, "target");
  if (target.length < 1 || target.length > TARGET_MAX) throw invalid("target", `target must be 1-${TARGET_MAX} characters.`);
  const roomRaw = optionalString(roomIn, "room");
  const room = roomRaw === undefined ? null : checkName(roomRaw, "room");
  const { count, matchedByCode } = await store.deleteCodes(target, hashCode(target), room);
  return { revoked: count, shown: matchedByCode ? maskCode(target) : target, room };
}
