import { Database } from "bun:sqlite";
import { afterEach, describe, expect, test } from "bun:test";
import { cpSync, existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { createApp } from "../../src/http/app.ts";
import { LocalBus } from "../../src/relay/bus.ts";
import { hashCode } from "../../src/relay/codes.ts";
import { Operator } from "../../src/relay/operator.ts";
import { Relay } from "../../src/relay/relay.ts";
import { UnusableDatabaseError } from "../../src/store/db.ts";
import { SqliteStore } from "../../src/store/sqlite.ts";
import { TestClock, tempDir, testConfig } from "../helpers.ts";
import { freshSchemaUrl } from "../pg-cluster.ts";
import { cli, cliEnv, serverOn } from "./run-cli.ts";

const FIXTURES = "/work/shared/fixtures";

interface V1Row { id: number; room: string; seq: number; ts: string; sender: string; recipient: string; text: string; expects_reply: string; claimed_by: string | null }

/** One 1.0 fixture copied into a private directory (the originals are never touched). */
function copyFixture(kind: "plain" | "hashed") {
  const dir = tempDir("argy-import-");
  const data = join(dir.path, "v1");
  cpSync(join(FIXTURES, `v1-data-${kind}`), data, { recursive: true, mode: 0 });
  const suffix = kind === "plain" ? "a" : "b";
  const codes = JSON.parse(readFileSync(join(data, "codes.json"), "utf8")) as Record<string, string>;
  const token = readFileSync(join(data, "admin.token"), "utf8").trim();
  const raw = new Database(join(data, "argybargy.db"), { readonly: true });
  const rows = raw.query("SELECT * FROM messages ORDER BY id").all() as V1Row[];
  const v1Codes = raw.query("SELECT * FROM codes").all() as { code: string; name: string; expires: string | null }[];
  raw.close();
  return { dir, data, suffix, codes, token, rows, v1Codes, name: (role: string) => `${role}-${suffix}` };
}

type Fixture = ReturnType<typeof copyFixture>;

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function call(url: string, method: string, path: string, auth: Record<string, string>, body?: unknown) {
  const res = await fetch(`${url}${path}`, {
    method, headers: { ...auth, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : null };
}

const bearer = (code: string) => ({ authorization: `Bearer ${code}` });

/** What 1.0 would have given `viewer` from `since`: SPEC §7.3's poll rule over the raw rows. */
const expectedSince = (fx: Fixture, room: string, viewer: string, since: number) =>
  fx.rows.filter((r) => r.room === room && r.seq > since && r.sender !== viewer && (r.recipient === "all" || r.recipient === viewer))
    .map((r) => r.seq);

async function checkImported(fx: Fixture, env: Record<string, string> = {}) {
  const server = await serverOn(fx.data, { ARGYBARGY_MAX_IDLE_SECONDS: "0", ...env });
  cleanups.push(() => server.stop());
  const { url } = server;
  const admin = { "x-admin-token": fx.token };
  expect(server.adminToken).toBe(fx.token);
  expect((await call(url, "GET", "/admin/stats", admin)).status).toBe(200);

  // Every 1.0 code authenticates as its agent; the expiring one per its stored expiry.
  for (const [name, code] of Object.entries(fx.codes)) {
    const expires = fx.v1Codes.find((c) => c.name === name)!.expires;
    const alive = expires === null || Date.parse(expires) > Date.now();
    const who = await call(url, "GET", "/whoami", bearer(code));
    expect(who.status).toBe(alive ? 200 : 401);
    if (alive) expect(who.json.name).toBe(name);
  }

  // An agent following its 1.0 cursor neither misses nor repeats: every since=N reads exactly 1.0's rows after N.
  const planner = bearer(fx.codes[fx.name("planner")]!);
  for (let since = 0; since <= 5; since++) {
    const poll = await call(url, "GET", `/messages?since=${since}`, planner);
    expect(poll.status).toBe(200);
    expect(poll.json.messages.map((m: { seq: number }) => m.seq)).toEqual(expectedSince(fx, "build", fx.name("planner"), since));
    expect(poll.json.cursor).toBe(5);
  }
  const first = (await call(url, "GET", "/messages?since=0", planner)).json.messages;
  const v1Two = fx.rows.find((r) => r.room === "build" && r.seq === 2)!;
  expect(first[0]).toMatchObject({ seq: 2, from: v1Two.sender, to: v1Two.recipient, text: v1Two.text, ts: new Date(v1Two.ts).toISOString() });

  // The operator's inbox holds what 1.0 left open: planner's DM to coder (seq 3) awaits coder.
  const inbox = async () => (await call(url, "GET", "/admin/state", admin)).json.waiting.map((m: { room: string; seq: number }) => `${m.room}#${m.seq}`);
  expect(await inbox()).toEqual(["build#3"]);

  // The next message continues the room's seqs, and the old cursor picks it up once.
  const coder = bearer(fx.codes[fx.name("coder")]!);
  const coderAlive = (await call(url, "GET", "/whoami", coder)).status === 200;
  const sent = coderAlive
    ? await call(url, "POST", "/messages", coder, { text: "after the upgrade" })
    : await call(url, "POST", "/admin/say", admin, { room: "build", text: "after the upgrade" });
  expect(sent.status).toBe(200);
  expect(sent.json.message.seq).toBe(6);
  const after = await call(url, "GET", "/messages?since=5", planner);
  expect(after.json.messages.map((m: { seq: number; text: string }) => [m.seq, m.text])).toEqual([[6, "after the upgrade"]]);
  expect(await inbox()).toEqual(coderAlive ? [] : ["build#3"]);

  // The claimed question stays claimed.
  const invite = await call(url, "POST", "/admin/invite", admin, { name: "newcomer", room: "build" });
  expect(invite.status).toBe(200);
  const claim = await call(url, "POST", "/messages/1/claim", bearer(invite.json.code));
  expect(claim.status).toBe(409);
  expect(claim.json).toMatchObject({ error: "already_claimed", claimed_by: fx.name("coder"), seq: 1 });

  // The closed room stays closed.
  const scout = bearer(fx.codes[fx.name("scout")]!);
  const scoutPoll = await call(url, "GET", "/messages?since=0", scout);
  expect(scoutPoll.json).toMatchObject({ room_closed: true, should_exit: true, exit_reason: "room_closed" });
  expect(scoutPoll.json.messages.length).toBe(0); // scout wrote all five itself
  const refused = await call(url, "POST", "/messages", scout, { text: "anyone?" });
  expect(refused.status).toBe(409);
  expect(refused.json.error).toBe("room_closed");

  // The revoked code stays gone; the audit carries 1.0's rows.
  const state = await call(url, "GET", "/admin/state", admin);
  expect(state.json.codes.map((c: { name: string }) => c.name).sort()).toEqual([fx.name("coder"), "newcomer", fx.name("planner"), fx.name("scout")]);
  const audit = (await call(url, "GET", "/admin/audit?limit=100", admin)).json.events as { ts: string; action: string; detail: string }[];
  expect(audit.slice(0, 10).map((e) => e.action)).toEqual(["invite", "invite", "invite", "invite", "connect", "connect", "claim", "connect", "say", "room_close"]);
  expect(audit[3]!.detail).toBe(`gone-${fx.suffix}`);
  await server.stop();
}

describe.each(["plain", "hashed"] as const)("argybargy import of the 1.0 %s fixture", (kind) => {
  test("import, then migrate --to PostgreSQL: a PostgreSQL-backed server holds everything the SQLite one did", async () => {
    const fx = copyFixture(kind);
    cleanups.push(fx.dir.cleanup);
    expect((await cli(["import", fx.data], cliEnv(fx.data))).code).toBe(0);
    const target = await freshSchemaUrl();
    const moved = await cli(["migrate", "--to", target], cliEnv(fx.data));
    expect(moved.stderr).toBe("");
    expect(moved.code).toBe(0);
    await checkImported(fx, { ARGYBARGY_DATABASE_URL: target });
  });

  test("import straight into PostgreSQL (ARGYBARGY_DATABASE_URL): a PostgreSQL-backed server holds everything; a second run is refused", async () => {
    const fx = copyFixture(kind);
    cleanups.push(fx.dir.cleanup);
    const u = new URL(await freshSchemaUrl());
    const dataDir = join(fx.dir.path, "unused-data-dir");
    const before = readFileSync(join(fx.data, "argybargy.db"));
    const r = await cli(["import", fx.data, "--json"], cliEnv(dataDir, { ARGYBARGY_DATABASE_URL: u.toString() }));
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report).toMatchObject({ messages: 10, claimed: 1, codes: 3, audit: 10, admin_token_kept: true, backup: join(fx.data, "argybargy.db.v1.bak") });
    expect(report.database).not.toContain(u.password || "\u0000");
    // The 1.0 directory is as it was, plus the copy; no SQLite data dir was made.
    expect(readFileSync(join(fx.data, "argybargy.db")).equals(before)).toBe(true);
    expect(statSync(join(fx.data, "argybargy.db.v1.bak")).mode & 0o777).toBe(0o600);
    expect(existsSync(join(dataDir, "argybargy.db"))).toBe(false);
    await checkImported(fx, { ARGYBARGY_DATABASE_URL: u.toString() });

    const twice = await cli(["import", fx.data], cliEnv(dataDir, { ARGYBARGY_DATABASE_URL: u.toString() }));
    expect(twice.code).toBe(1);
    expect(twice.stderr).toContain("already exists");
    // Without the copy's guard, the database's own refusal: it already holds data.
    const other = join(fx.dir.path, "v1-again");
    cpSync(join(FIXTURES, `v1-data-${kind}`), other, { recursive: true, mode: 0 });
    const again = await cli(["import", other], cliEnv(dataDir, { ARGYBARGY_DATABASE_URL: u.toString() }));
    expect(again.code).toBe(1);
    expect(again.stderr).toContain("already holds data");
    expect(existsSync(join(other, "argybargy.db.v1.bak"))).toBe(false);
  });

  test("serve refuses the 1.0 file and points to import; import in place brings everything in", async () => {
    const fx = copyFixture(kind);
    cleanups.push(fx.dir.cleanup);
    const original = readFileSync(join(fx.data, "argybargy.db"));
    const refused = serverOn(fx.data);
    await expect(refused).rejects.toBeInstanceOf(UnusableDatabaseError);
    await expect(refused).rejects.toThrow(`argybargy import ${fx.data}`);

    const r = await cli(["import", fx.data], cliEnv(fx.data));
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("messages:    10 (1 claimed)");
    expect(r.stdout).toContain("#build: 5 message(s), open");
    expect(r.stdout).toContain("#research: 5 message(s), closed");
    expect(r.stdout).toContain("codes:       3 (3 stored hashed)");
    expect(r.stdout).toContain("audit rows:  10");
    expect(r.stdout).not.toContain(fx.token);
    for (const code of Object.values(fx.codes)) expect(r.stdout).not.toContain(code);

    // The backup is the 1.0 database, 0600; nothing else is left beside the new file.
    const backup = join(fx.data, "argybargy.db.v1.bak");
    expect(statSync(backup).mode & 0o777).toBe(0o600);
    const bak = new Database(backup, { readonly: true });
    expect(bak.query("SELECT * FROM messages ORDER BY id").all()).toEqual(fx.rows);
    bak.close();
    expect(original.length).toBeGreaterThan(0);
    expect(readdirSync(fx.data).sort()).toEqual(["admin.token", "argybargy.db", "argybargy.db.v1.bak", "codes.json"]);

    await checkImported(fx);

    // A second run is refused with one line, and changes nothing.
    const before = readFileSync(join(fx.data, "argybargy.db"));
    const again = await cli(["import", fx.data], cliEnv(fx.data));
    expect(again.code).toBe(1);
    expect(again.stderr.trim().split("\n")).toHaveLength(1);
    expect(again.stderr).toContain("already exists");
    expect(readFileSync(join(fx.data, "argybargy.db")).equals(before)).toBe(true);
  });

  test("import into another, empty data dir leaves the 1.0 directory as it was", async () => {
    const fx = copyFixture(kind);
    cleanups.push(fx.dir.cleanup);
    const target = join(fx.dir.path, "v11");
    const before = readFileSync(join(fx.data, "argybargy.db"));
    const r = await cli(["import", fx.data, "--json"], cliEnv(target, { ARGYBARGY_HASH_CODES: "0" }));
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report).toMatchObject({ messages: 10, claimed: 1, codes: 3, audit: 10, admin_token_kept: true, backup: join(target, "argybargy.db.v1.bak") });
    expect(report.rooms).toEqual([{ name: "build", messages: 5, status: "open" }, { name: "research", messages: 5, status: "closed" }]);
    // HASH_CODES=0 keeps 1.0's plaintext codes plaintext; 1.0's hashed codes stay hashed.
    expect(report.hashed_codes).toBe(kind === "plain" ? 0 : 3);
    expect(readFileSync(join(fx.data, "argybargy.db")).equals(before)).toBe(true);
    expect(existsSync(join(fx.data, "argybargy.db.v1.bak"))).toBe(false);
    await checkImported({ ...fx, data: target }, { ARGYBARGY_HASH_CODES: "0" });

    const twice = await cli(["import", fx.data], cliEnv(target));
    expect(twice.code).toBe(1);
    expect(twice.stderr).toContain("already exists");
  });

  test("1.0 hashed codes as 1.1 does (SHA-256 hex of the code string); the coder code lives until its stored expiry", async () => {
    const fx = copyFixture(kind);
    cleanups.push(fx.dir.cleanup);
    for (const row of fx.v1Codes) {
      const code = fx.codes[row.name]!;
      expect(row.code).toBe(kind === "hashed" ? hashCode(code) : code);
    }
    expect((await cli(["import", fx.data], cliEnv(fx.data))).code).toBe(0);
    const store = SqliteStore.open(join(fx.data, "argybargy.db"));
    cleanups.push(() => store.close());
    const coderRow = fx.v1Codes.find((c) => c.name === fx.name("coder"))!;
    const expiresMs = Date.parse(coderRow.expires!);
    const stored = await store.findCode(hashCode(fx.codes[fx.name("coder")]!));
    expect(stored?.expiresMs).toBe(expiresMs);

    const clock = new TestClock();
    const config = testConfig({ ARGYBARGY_MAX_IDLE_SECONDS: "0" });
    const relay = new Relay({ store, bus: new LocalBus(), clock, limits: config, adminToken: fx.token });
    const app = createApp({
      relay, operator: new Operator(relay, { save: () => {} }), config, startedMs: Date.now(), publicUrl: () => null, logError: () => {},
    });
    const whoami = async (code: string) => (await app.handle(new Request("http://localhost/whoami", { headers: bearer(code) }))).status;
    clock.offsetMs = expiresMs - 60_000 - Date.now();
    expect(await whoami(fx.codes[fx.name("coder")]!)).toBe(200);
    clock.offsetMs = expiresMs + 1 - Date.now();
    expect(await whoami(fx.codes[fx.name("coder")]!)).toBe(401);
    expect(await whoami(fx.codes[fx.name("planner")]!)).toBe(200);
  });
});

describe("argybargy import refuses", () => {
  test("an unparseable 1.0 row: exit 1 with one line naming it, nothing written", async () => {
    const fx = copyFixture("plain");
    cleanups.push(fx.dir.cleanup);
    const db = new Database(join(fx.data, "argybargy.db"));
    db.run("UPDATE messages SET ts = 'yesterday' WHERE id = 3");
    db.close();
    const before = readdirSync(fx.data).sort();
    const r = await cli(["import", fx.data], cliEnv(fx.data));
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toContain("messages row 3");
    expect(r.stderr).toContain("nothing was written");
    expect(readdirSync(fx.data).sort()).toEqual(before);
    await expect(serverOn(fx.data)).rejects.toThrow("argybargy import");
  });

  test("a load that fails half-way rolls back: no backup, no new database, the 1.0 file still in place", async () => {
    const fx = copyFixture("hashed");
    cleanups.push(fx.dir.cleanup);
    const db = new Database(join(fx.data, "argybargy.db"));
    db.run("DROP INDEX idx_msg_room_seq");
    db.run("INSERT INTO messages (room, seq, ts, sender, recipient, text) VALUES ('build', 2, '2026-12-01T09:00:00+00:00', 'x', 'all', 'dup')");
    db.close();
    const r = await cli(["import", fx.data], cliEnv(fx.data));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("nothing was written");
    expect(existsSync(join(fx.data, "argybargy.db.v1.bak"))).toBe(false);
    expect(readdirSync(fx.data).filter((f) => f.includes("tmp"))).toEqual([]);
    await expect(serverOn(fx.data)).rejects.toThrow("argybargy import");
  });

  test("an unreachable PostgreSQL URL: exit 1 with one line that never shows the password, no copy left", async () => {
    const fx = copyFixture("plain");
    cleanups.push(fx.dir.cleanup);
    const probe = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    const port = probe.port;
    probe.stop(true);
    const r = await cli(["import", fx.data], cliEnv(join(fx.dir.path, "d"), { ARGYBARGY_DATABASE_URL: `postgres://argy:s3cret-pw@127.0.0.1:${port}/argy` }));
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toContain("nothing was written");
    expect(r.stderr).not.toContain("s3cret-pw");
    expect(existsSync(join(fx.data, "argybargy.db.v1.bak"))).toBe(false);
  });

  test("a non-empty target, a 1.1 database, a foreign file, a directory without argybargy.db", async () => {
    const fx = copyFixture("plain");
    cleanups.push(fx.dir.cleanup);
    const target = join(fx.dir.path, "busy");
    expect((await cli(["invite", "--name", "someone"], cliEnv(target))).code).toBe(0);
    const busy = await cli(["import", fx.data], cliEnv(target));
    expect(busy.code).toBe(1);
    expect(busy.stderr).toContain("already holds data");
    expect(existsSync(join(target, "argybargy.db.v1.bak"))).toBe(false);

    const own = await cli(["import", target], cliEnv(join(fx.dir.path, "x")));
    expect(own.code).toBe(1);
    expect(own.stderr).toContain("already an argybargy 1.1 database");

    const foreign = join(fx.dir.path, "foreign");
    cpSync(fx.data, foreign, { recursive: true });
    const f = new Database(join(foreign, "argybargy.db"));
    f.run("DROP TABLE audit");
    f.close();
    const notV1 = await cli(["import", foreign], cliEnv(foreign));
    expect(notV1.code).toBe(1);
    expect(notV1.stderr).toContain("not an argybargy 1.0 database (no table audit)");

    const empty = await cli(["import", join(fx.dir.path, "nothing")], cliEnv(foreign));
    expect(empty.code).toBe(1);
    expect(empty.stderr).toContain("holds no argybargy.db");
  });
});
