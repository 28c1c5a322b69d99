import { expect, test } from "bun:test";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";

const SRC = join(import.meta.dir, "..", "src");

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? files(p) : p.endsWith(".ts") ? [p] : [];
  });
}

const rel = (p: string) => p.slice(SRC.length + 1);

test("relay/ imports no framework, no SQL and nothing of ours outside relay/", () => {
  const offenders: string[] = [];
  for (const f of files(join(SRC, "relay"))) {
    const text = readFileSync(f, "utf8");
    for (const m of text.matchAll(/from\s+["']([^"']+)["']/g)) {
      const spec = m[1]!;
      const bad = /^(elysia|@elysiajs\/|bun:sqlite|consola|citty)/.test(spec) || (spec.startsWith(".") && !spec.startsWith("./"));
      if (bad) offenders.push(`${rel(f)} imports ${spec}`);
    }
  }
  expect(offenders).toEqual([]);
});

test("only config.ts reads the environment", () => {
  const readers = files(SRC).filter((f) => /process\.env|Bun\.env/.test(readFileSync(f, "utf8"))).map(rel);
  expect(readers).toEqual(["config.ts"]);
});

test("each framework has one home: bun:sqlite in store/, elysia in http/, citty in cli/", () => {
  const misplaced: string[] = [];
  for (const f of files(SRC)) {
    const r = rel(f);
    const text = readFileSync(f, "utf8");
    if (/from\s+["']bun:sqlite["']/.test(text) && !r.startsWith("store/")) misplaced.push(`${r}: bun:sqlite`);
    if (/from\s+["'](elysia|@elysiajs\/[^"']+)["']/.test(text) && !r.startsWith("http/")) misplaced.push(`${r}: elysia`);
    if (/from\s+["']citty["']/.test(text) && !r.startsWith("cli/") && r !== "main.ts") misplaced.push(`${r}: citty`);
  }
  expect(misplaced).toEqual([]);
});
