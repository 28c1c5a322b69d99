import { Database } from "bun:sqlite";
import { afterEach, expect, test } from "bun:test";
import { copyFileSync } from "node:fs";
import { join } from "node:path";
import { hashCode } from "../../src/relay/codes.ts";
import { readV1, V1FormatError } from "../../src/store/v1.ts";
import { tempDir } from "../helpers.ts";

const cleanups: (() => void)[] = [];
afterEach(() => cleanups.splice(0).forEach((c) => c()));

/** A private copy of a 1.0 fixture database, open for editing. */
function fixtureCopy(kind: "plain" | "hashed") {
  const dir = tempDir("argy-v1-");
  cleanups.push(dir.cleanup);
  const path = join(dir.path, "argybargy.db");
  copyFileSync(`/work/shared/fixtures/v1-data-${kind}/argybargy.db`, path);
  return { path, db: new Database(path) };
}

test("1.0 times in any ISO-8601 UTC spelling become epoch ms", () => {
  const { path, db } = fixtureCopy("plain");
  db.run("UPDATE messages SET ts = '2026-12-01 08:47:07' WHERE id = 1");
  db.run("UPDATE messages SET ts = '2026-12-01T08:47:07.250001Z' WHERE id = 2");
  db.run("UPDATE messages SET ts = '2026-12-01T09:47:07+01:00' WHERE id = 3");
  db.close();
  const dump = readV1(path, { hashCodes: true });
  expect(dump.messages.slice(0, 3).map((m) => m.tsMs)).toEqual([Date.UTC(2026, 11, 1, 8, 47, 7), Date.UTC(2026, 11, 1, 8, 47, 7, 250), Date.UTC(2026, 11, 1, 8, 47, 7)]);
});

test("plaintext codes are hashed or kept per hashCodes; hashed ones keep their SHA-256 and a 1.1 mask", () => {
  const plain = fixtureCopy("plain");
  const row = plain.db.query("SELECT code FROM codes WHERE name = 'planner-a'").get() as { code: string };
  plain.db.close();
  const hashed = readV1(plain.path, { hashCodes: true }).codes.find((c) => c.name === "planner-a")!;
  expect(hashed).toMatchObject({ stored: hashCode(row.code), lookup: hashCode(row.code), hashed: true, masked: `${row.code.slice(0, 4)}…${row.code.slice(-4)}`, capabilities: "plans", expiresMs: null });
  const kept = readV1(plain.path, { hashCodes: false }).codes.find((c) => c.name === "planner-a")!;
  expect(kept).toMatchObject({ stored: row.code, lookup: hashCode(row.code), hashed: false });

  const h = fixtureCopy("hashed");
  const hrow = h.db.query("SELECT code, display FROM codes WHERE name = 'coder-b'").get() as { code: string; display: string };
  h.db.close();
  const coder = readV1(h.path, { hashCodes: false }).codes.find((c) => c.name === "coder-b")!;
  expect(coder).toMatchObject({ stored: hrow.code, lookup: hrow.code, hashed: true, masked: `${hrow.display.slice(0, 4)}…${hrow.display.slice(-4)}` });
  expect(coder.expiresMs).toBe(Date.UTC(2026, 11, 31, 8, 47, 8));
});

test("a row that cannot be mapped is named, and a code never appears in the message", () => {
  const { path, db } = fixtureCopy("plain");
  const code = (db.query("SELECT code FROM codes WHERE name = 'scout-a'").get() as { code: string }).code;
  db.run("UPDATE codes SET display = 'shown…asis' WHERE name = 'scout-a'");
  db.close();
  let error: unknown;
  try {
    readV1(path, { hashCodes: true });
  } catch (err) {
    error = err;
  }
  expect(error).toBeInstanceOf(V1FormatError);
  expect((error as Error).message).toContain('codes row of "scout-a" is neither a plaintext code nor a SHA-256 hash');
  expect((error as Error).message).not.toContain(code);
});

test("a bad status, seq or expiry is refused", () => {
  for (const [sql, expected] of [
    ["UPDATE rooms SET status = 'archived'", 'rooms row "research" is neither open nor closed'],
    ["UPDATE messages SET seq = 0 WHERE id = 4", "seq of messages row 4"],
    ["UPDATE codes SET expires = 'soon' WHERE name = 'coder-a'", 'expiry of the codes row of "coder-a"'],
  ] as const) {
    const { path, db } = fixtureCopy("plain");
    db.run(sql);
    db.close();
    expect(() => readV1(path, { hashCodes: true })).toThrow(expected);
  }
});
