import { Database } from "bun:sqlite";
import { afterEach, describe, expect, test } from "bun:test";
import { copyFileSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { SqliteStore } from "../../src/store/sqlite.ts";
import { tempDir, INSERT_DEFAULTS } from "../helpers.ts";
import { cli, cliEnv, serverOn } from "./run-cli.ts";

const ROOT = join(import.meta.dir, "..", "..");
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A data dir with `n` messages in room "bulk" written straight into its store, so a copy takes a while. */
async function filledDataDir(n: number) {
  const dir = tempDir("argy-backup-");
  cleanups.push(dir.cleanup);
  const data = join(dir.path, "data");
  expect((await cli(["invite", "--name", "filler", "--room", "bulk"], cliEnv(data))).code).toBe(0);
  const store = SqliteStore.open(join(data, "argybargy.db"));
  const text = "x".repeat(200);
  await Promise.all(Array.from({ length: n }, () =>
    store.insertMessage({ ...INSERT_DEFAULTS, room: "bulk", from: "filler", to: "all", text, expectsReply: "none", nowMs: Date.now(), refuseIfClosed: false, maxRooms: 0, retention: 0 })));
  await store.close();
  return { dir, data };
}

/** Runs the real CLI in its own process (the way an operator runs backup beside a live server). */
async function cliProcess(args: string[], env: Record<string, string>) {
  const proc = Bun.spawn([process.execPath, join(ROOT, "src/main.ts"), ...args], { env: { PATH: process.env.PATH ?? "", ...env }, stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { code, stdout, stderr };
}

describe("argybargy backup and restore", () => {
  test("backup while a real server takes posts holds every acknowledged message; restore into an empty dir serves them", async () => {
    const { dir, data } = await filledDataDir(20_000);
    const server = await serverOn(data, { ARGYBARGY_RATE_MAX: "0", ARGYBARGY_MAX_MESSAGES_PER_ROOM: "0", ARGYBARGY_LOOP_GUARD: "0" });
    cleanups.push(() => server.stop());
    const admin = { "x-admin-token": server.adminToken, "content-type": "application/json" };
    const codes: string[] = [];
    for (const name of ["p1", "p2", "p3", "p4"]) {
      const res = await fetch(`${server.url}/admin/invite`, { method: "POST", headers: admin, body: JSON.stringify({ name, room: "live" }) });
      codes.push(((await res.json()) as { code: string }).code);
    }
    const acked: { seq: number; text: string; at: number }[] = [];
    let stop = false;
    const posters = codes.map(async (code, i) => {
      for (let k = 0; !stop; k++) {
        const res = await fetch(`${server.url}/messages`, {
          method: "POST", headers: { authorization: `Bearer ${code}`, "content-type": "application/json" }, body: JSON.stringify({ text: `p${i + 1} #${k}` }),
        });
        expect(res.status).toBe(200);
        const body = (await res.json()) as { message: { seq: number; text: string } };
        acked.push({ ...body.message, at: performance.now() });
      }
    });
    while (acked.length < 50) await Bun.sleep(5);

    const file = join(dir.path, "copy.db");
    const started = performance.now();
    const ackedBefore = acked.filter((a) => a.at < started);
    const r = await cliProcess(["backup", file], cliEnv(data));
    const during = acked.filter((a) => a.at >= started).length;
    stop = true;
    await Promise.all(posters);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`to ${file}`);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    console.log(`backup: ${ackedBefore.length} posts acknowledged before it started, ${during} while it ran`);

    const copy = new Database(file, { readonly: true });
    expect(copy.query("PRAGMA integrity_check").all()).toEqual([{ integrity_check: "ok" }]);
    const stored = new Map((copy.query("SELECT seq, text FROM messages WHERE room = 'live'").all() as { seq: number; text: string }[]).map((m) => [m.seq, m.text]));
    for (const a of ackedBefore) expect(stored.get(a.seq)).toBe(a.text);
    expect((copy.query("SELECT count(*) AS n FROM messages WHERE room = 'bulk'").get() as { n: number }).n).toBe(20_000);
    copy.close();

    // Never over an existing file without --force.
    const kept = readFileSync(file);
    const again = await cli(["backup", file], cliEnv(data));
    expect(again.code).toBe(1);
    expect(again.stderr).toContain("already exists; pass --force");
    expect(readFileSync(file).equals(kept)).toBe(true);
    await server.stop();

    const empty = join(dir.path, "restored");
    const restored = await cli(["restore", file], cliEnv(empty));
    expect(restored.stderr).toBe("");
    expect(restored.code).toBe(0);
    expect(restored.stdout).toContain(`Restored ${20_000 + stored.size} message(s)`);
    const second = await serverOn(empty);
    cleanups.push(() => second.stop());
    const history = await fetch(`${second.url}/history?limit=500`, { headers: { authorization: `Bearer ${codes[0]}` } });
    expect(history.status).toBe(200);
    const seqs = ((await history.json()) as { messages: { seq: number }[] }).messages.map((m) => m.seq);
    expect(Math.max(...seqs)).toBe(Math.max(...stored.keys()));
    const poll = await fetch(`${second.url}/messages?since=0`, { headers: { authorization: `Bearer ${codes[1]}` } });
    const polled = ((await poll.json()) as { messages: { seq: number; text: string }[] }).messages;
    expect(polled.length).toBe([...stored.values()].filter((t) => !t.startsWith("p2 ")).length);
    expect((await fetch(`${second.url}/admin/stats`, { headers: { "x-admin-token": second.adminToken } })).status).toBe(200);
  }, 120_000);

  test("backup --force replaces an existing file; backup refuses a missing or 1.0 database", async () => {
    const { dir, data } = await filledDataDir(10);
    const file = join(dir.path, "copy.db");
    writeFileSync(file, "old");
    const forced = await cli(["backup", file, "--force"], cliEnv(data));
    expect(forced.code).toBe(0);
    expect(new Database(file, { readonly: true }).query("SELECT count(*) AS n FROM messages").get()).toEqual({ n: 10 });

    const none = await cli(["backup", join(dir.path, "x.db")], cliEnv(join(dir.path, "nothing-here")));
    expect(none.code).toBe(1);
    expect(none.stderr).toContain("does not exist");
    expect(existsSync(join(dir.path, "x.db"))).toBe(false);

    const v1Data = join(dir.path, "v1");
    mkdirSync(v1Data);
    copyFileSync("/work/shared/fixtures/v1-data-plain/argybargy.db", join(v1Data, "argybargy.db"));
    const old = await cli(["backup", join(dir.path, "y.db")], cliEnv(v1Data));
    expect(old.code).toBe(1);
    expect(old.stderr).toContain("not an argybargy 1.1 database");
  });

  test("restore refuses a non-empty target, a foreign, newer, corrupt or non-SQLite file, writing nothing", async () => {
    const { dir, data } = await filledDataDir(300);
    const good = join(dir.path, "good.db");
    expect((await cli(["backup", good], cliEnv(data))).code).toBe(0);
    const target = join(dir.path, "target");
    const refuse = async (file: string, expected: string, into = target) => {
      const r = await cli(["restore", file], cliEnv(into));
      expect(r.code).toBe(1);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
      expect(r.stderr).toContain(expected);
      if (into === target) expect(existsSync(join(target, "argybargy.db"))).toBe(false);
    };

    await refuse(good, "exists; restore only into a data directory without a database", data);

    const foreign = join(dir.path, "foreign.db");
    const f = new Database(foreign);
    f.run("CREATE TABLE t (x)");
    f.close();
    await refuse(foreign, "is not an argybargy 1.1 database");

    const newer = join(dir.path, "newer.db");
    copyFileSync(good, newer);
    const n = new Database(newer);
    n.run("PRAGMA user_version = 99");
    n.close();
    await refuse(newer, "schema version 99");

    const corrupt = join(dir.path, "corrupt.db");
    const bytes = readFileSync(good);
    for (let i = 4096 * 2; i < bytes.length - 4096; i += 7) bytes[i] = (bytes[i]! + 91) & 0xff;
    writeFileSync(corrupt, bytes);
    await refuse(corrupt, "corrupt");

    const text = join(dir.path, "notes.txt");
    writeFileSync(text, "these are not the pages you are looking for ".repeat(200));
    await refuse(text, "not a SQLite database or is corrupt");

    await refuse(join(dir.path, "missing.db"), "does not exist");
  });
});
