import { afterAll, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tempDir } from "../helpers.ts";

// SPEC §3, §7.14: a real `serve` process keeps everything durable across a SIGTERM restart,
// protects its files, refuses databases it does not know, and fails cleanly on a busy port.

const MAIN = join(import.meta.dir, "../../src/main.ts");
const dirs: { cleanup: () => void }[] = [];
const procs: Bun.Subprocess<"ignore", "pipe", "pipe">[] = [];

afterAll(() => {
  for (const p of procs) if (p.exitCode === null) p.kill("SIGKILL");
  for (const d of dirs) d.cleanup();
});

function spawn(data: string, port = "0") {
  const proc = Bun.spawn(["bun", MAIN, "serve", "--port", port], {
    env: { ...process.env, ARGYBARGY_DATA: data, ARGYBARGY_LOG_LEVEL: "error" },
    stdin: "ignore", stdout: "pipe", stderr: "pipe",
  });
  procs.push(proc);
  return proc;
}

/** Starts a server and reads stdout until "listening on <url>". */
async function start(data: string) {
  const proc = spawn(data);
  const reader = proc.stdout.getReader();
  const decoder = new TextDecoder();
  let out = "";
  const deadline = Date.now() + 15_000;
  while (!/listening on (http:\/\/\S+)/.test(out)) {
    if (Date.now() > deadline) throw new Error(`no "listening on" line in time:\n${out}`);
    const { done, value } = await reader.read();
    if (done) throw new Error(`the server exited before listening:\n${out}\n${await new Response(proc.stderr).text()}`);
    out += decoder.decode(value, { stream: true });
  }
  reader.releaseLock();
  void proc.stdout.pipeTo(new WritableStream()).catch(() => {}); // keep draining
  const url = /listening on (http:\/\/\S+)/.exec(out)![1]!;
  const token = readFileSync(join(data, "admin.token"), "utf8").trim();
  const call = async (method: string, path: string, opts: { code?: string; body?: unknown } = {}) => {
    const headers: Record<string, string> = opts.code ? { authorization: `Bearer ${opts.code}` } : { "x-admin-token": token };
    const res = await fetch(`${url}${path}`, { method, headers, body: opts.body === undefined ? undefined : JSON.stringify(opts.body) });
    return { status: res.status, json: (await res.json().catch(() => null)) as any };
  };
  return { proc, url, token, call };
}

/** Sends SIGTERM and returns the exit code and how long it took. */
async function terminate(proc: Bun.Subprocess<"ignore", "pipe", "pipe">) {
  const started = performance.now();
  proc.kill("SIGTERM");
  const code = await Promise.race([proc.exited, Bun.sleep(6000).then(() => "timeout" as const)]);
  return { code, ms: performance.now() - started };
}

/** Runs a server that must refuse to start; returns its exit code and stderr. */
async function refused(data: string, port = "0") {
  const proc = spawn(data, port);
  const code = await Promise.race([proc.exited, Bun.sleep(10_000).then(() => "timeout" as const)]);
  return { code, stderr: (await new Response(proc.stderr).text()).trim(), stdout: (await new Response(proc.stdout).text()).trim() };
}

const mode = (path: string) => statSync(path).mode & 0o777;

test("history, codes, claims and room status survive a SIGTERM restart; files are private", async () => {
  const tmp = tempDir();
  dirs.push(tmp);
  const data = join(tmp.path, "data");
  let s = await start(data);
  expect(mode(data)).toBe(0o700);
  expect(mode(join(data, "argybargy.db"))).toBe(0o600);
  for (const side of ["argybargy.db-wal", "argybargy.db-shm"]) if (existsSync(join(data, side))) expect(mode(join(data, side))).toBe(0o600);
  expect(mode(join(data, "admin.token"))).toBe(0o600);
  expect(readFileSync(join(data, "admin.token"), "utf8")).toMatch(/^[A-Za-z0-9_-]{32}$/); // no trailing newline

  const invite = async (name: string, room: string) => (await s.call("POST", "/admin/invite", { body: { name, room, capabilities: `${name} caps` } })).json.code as string;
  const alice = await invite("alice", "lab");
  const bob = await invite("bob", "lab");
  await invite("carol", "shut");
  const expiring = (await s.call("POST", "/admin/invite", { body: { name: "brief", room: "lab", expires: "1h" } })).json;
  expect((await s.call("POST", "/messages", { code: alice, body: { text: "who can review?", expects_reply: "anyone" } })).status).toBe(200);
  const claimed = (await s.call("POST", "/messages/1/claim", { code: bob })).json;
  expect(claimed).toEqual({ won: true, claimed_by: "bob", seq: 1, claim_expires_at: expect.any(String) });
  expect((await s.call("POST", "/messages", { code: bob, body: { text: "me, alice?", to: "alice" } })).status).toBe(200);
  await s.call("POST", "/admin/say", { body: { room: "shut", text: "closing soon" } });
  const closed = (await s.call("POST", "/admin/rooms/shut/close", { body: { by: "boss" } })).json.room;
  const before = {
    history: (await s.call("GET", "/history", { code: alice })).json,
    state: (await s.call("GET", "/admin/state")).json,
    audit: (await s.call("GET", "/admin/audit?limit=1000")).json.events,
  };
  // bob's post answered alice's open question; his DM waits for alice.
  expect(before.state.waiting.map((w: any) => w.text)).toEqual(["me, alice?"]);
  const tokenBefore = s.token;

  // SIGTERM with a poll parked: the poll is answered at once and the process exits 0 within 5 s.
  const parked = s.call("GET", "/messages?since=2&wait=20", { code: bob });
  await Bun.sleep(300);
  const stopped = await terminate(s.proc);
  expect(stopped.code).toBe(0);
  expect(stopped.ms).toBeLessThan(5000);
  expect((await parked).status).toBe(200);
  writeFileSync(join(data, "url.txt"), "https://stale.example.test\n");

  s = await start(data);
  expect(existsSync(join(data, "url.txt"))).toBe(false); // removed at every start
  expect(s.token).toBe(tokenBefore);
  expect((await s.call("GET", "/admin/stats")).status).toBe(200);
  // The old codes still authenticate; history, claims and the closed room are as they were.
  expect((await s.call("GET", "/whoami", { code: alice })).json).toEqual({ name: "alice", room: "lab", capabilities: "alice caps" });
  const history = (await s.call("GET", "/history", { code: alice })).json;
  expect(history).toEqual(before.history);
  expect(history.messages.map((m: any) => [m.seq, m.claimed_by])).toEqual([[1, "bob"], [2, null]]);
  // bob's DM to the asker completed his lease before the restart: it stays done, no end to run out.
  expect((await s.call("POST", "/messages/1/claim", { code: alice })).json).toMatchObject({ error: "already_claimed", claimed_by: "bob", claim_expires_at: null });
  const state = (await s.call("GET", "/admin/state")).json;
  expect(state.codes).toEqual(before.state.codes);
  expect(state.codes.find((c: any) => c.name === "brief").expires).toBe(expiring.expires);
  expect(state.room_status.shut).toEqual(closed);
  expect(state.rooms).toHaveLength(2);
  expect(state.messages).toEqual(before.state.messages); // same rows, claims included
  expect(state.waiting).toEqual([{ ...before.state.waiting[0], waiting_seconds: expect.any(Number) }]); // rebuilt from durable data
  expect(Object.keys(state.roster).sort()).toEqual(["lab", "shut"]); // through codes and posts
  // Presence starts empty: only alice, who called since the restart, is in it (not bob, not the operator).
  expect(state.peers).toEqual({ lab: [{ name: "alice", online: true, seconds_since_seen: expect.any(Number) }] });
  const carolPoll = await s.call("GET", "/messages?wait=5", { code: (await invite("carol2", "shut")) });
  expect(carolPoll.json).toMatchObject({ should_exit: true, exit_reason: "room_closed", cursor: 1 });
  expect((await s.call("POST", "/messages", { code: bob, body: { text: "next" } })).json.message.seq).toBe(3);
  const audit = (await s.call("GET", "/admin/audit?limit=1000")).json.events;
  expect(audit.slice(0, before.audit.length)).toEqual(before.audit);
  // No plaintext code anywhere in the database file (hashing is on by default).
  const raw = readFileSync(join(data, "argybargy.db")).toString("latin1");
  for (const code of [alice, bob]) expect(raw.includes(code)).toBe(false);

  // A second server on the same port fails with one line and exit 1.
  const port = new URL(s.url).port;
  const busy = await refused(join(tmp.path, "other-data"), port);
  expect(busy.code).toBe(1);
  expect(busy.stderr.split("\n")).toHaveLength(1);
  expect(busy.stderr).toContain(port);
  expect((await s.call("GET", "/admin/stats")).status).toBe(200); // the first server is unharmed

  const again = await terminate(s.proc);
  expect(again.code).toBe(0);
  expect(again.ms).toBeLessThan(5000);
}, 60_000);

test("an existing data dir is left alone; a database this version does not know is refused unmodified", async () => {
  const tmp = tempDir();
  dirs.push(tmp);
  const cases: [string, (db: Database) => void][] = [
    ["a foreign / 1.0-style database", (db) => {
      db.run("CREATE TABLE messages (id INTEGER PRIMARY KEY, room TEXT, text TEXT)");
      db.run("INSERT INTO messages (room, text) VALUES ('default', 'from 1.0')");
    }],
    ["a database from a newer argybargy", (db) => {
      db.run("PRAGMA application_id = 1634887545"); // "argy"
      db.run("PRAGMA user_version = 99");
      db.run("CREATE TABLE future (x TEXT)");
    }],
  ];
  for (const [name, build] of cases) {
    const data = join(tmp.path, name.replace(/\W+/g, "-"));
    mkdirSync(data, { mode: 0o750 });
    const file = join(data, "argybargy.db");
    const db = new Database(file, { create: true });
    build(db);
    db.close();
    const bytes = readFileSync(file);
    const r = await refused(data);
    expect({ name, code: r.code }).toEqual({ name, code: 1 });
    const lines = r.stderr.split("\n");
    expect({ name, lines: lines.length }).toEqual({ name, lines: 1 });
    expect(r.stderr).toContain(file);
    expect(r.stderr).toContain("ARGYBARGY_DATA");
    expect(r.stdout).not.toContain("listening on");
    expect(readFileSync(file).equals(bytes)).toBe(true);
    expect(readdirSync(data).filter((f) => f.startsWith("argybargy.db"))).toEqual(["argybargy.db"]);
    expect(mode(data)).toBe(0o750); // an existing directory is left alone
  }
}, 30_000);
