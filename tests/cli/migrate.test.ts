import { afterAll, beforeAll, expect, test } from "bun:test";
import { hashCode } from "../../src/relay/codes.ts";
import { PgSharedState } from "../../src/store/pg-shared.ts";
import { PgStore } from "../../src/store/postgres.ts";
import { SqliteStore } from "../../src/store/sqlite.ts";
import { DataDir } from "../../src/store/files.ts";
import { tempDir } from "../helpers.ts";
import { freshSchemaUrl } from "../pg-cluster.ts";
import { everyRead } from "../store/every-read.ts";
import { cli, cliEnv, serverOn } from "./run-cli.ts";

// `argybargy migrate --to postgres://…`: a SQLite data dir filled through the API moves into an
// empty PostgreSQL database and reads exactly the same there; agents go on where they were.

let dir: ReturnType<typeof tempDir>;
let target: string;
const codes: Record<string, string> = {};
// A post made with an Idempotency-Key before the move; its retry after the move must get the same answer.
const keyed = { key: "retry-me-7f3a", body: JSON.stringify({ text: "sent once, retried after the move" }) };
let keyedSeq = 0;
beforeAll(async () => {
  dir = tempDir();
  target = await freshSchemaUrl();
  const server = await serverOn(dir.path, { ARGYBARGY_MAX_MESSAGES_PER_ROOM: "5", ARGYBARGY_RATE_MAX: "0" });
  try {
    const admin = (path: string, body: unknown) => fetch(`${server.url}${path}`, { method: "POST", headers: { "x-admin-token": server.adminToken }, body: JSON.stringify(body) }).then((r) => r.json() as any);
    const as = (who: string) => (method: string, path: string, body?: unknown) =>
      fetch(`${server.url}${path}`, { method, headers: { authorization: `Bearer ${codes[who]}` }, body: body === undefined ? undefined : JSON.stringify(body) }).then((r) => r.json() as any);
    for (const [name, room] of [["planner", "build"], ["coder", "build"], ["early", "build"], ["scout", "research"]] as const) codes[name] = (await admin("/admin/invite", { name, room })).code;
    await as("early")("POST", "/messages", { text: "pruned later by retention" });
    await as("planner")("POST", "/messages", { text: "who takes it?", expects_reply: "anyone" });
    await as("coder")("POST", `/messages/2/claim`);
    for (let i = 0; i < 4; i++) await as(i % 2 ? "coder" : "planner")("POST", "/messages", { text: `step ${i}`, expects_reply: i === 3 ? "coder" : "none" });
    await as("coder")("GET", "/messages?since=0");
    await as("coder")("POST", "/messages/ack", { up_to: 5 });
    await as("scout")("POST", "/messages", { text: "nul\u0000inside and 😀" });
    const first = await fetch(`${server.url}/messages`, { method: "POST", headers: { authorization: `Bearer ${codes.scout}`, "idempotency-key": keyed.key }, body: keyed.body });
    keyedSeq = ((await first.json()) as any).message.seq;
    await admin("/admin/rooms/research/close", { by: "boss" });
  } finally {
    await server.stop();
  }
});
afterAll(() => dir.cleanup());

test("migrate copies everything into an empty PostgreSQL database, verifies it, and refuses a second run", async () => {
  const r = await cli(["migrate", "--to", target], cliEnv(dir.path));
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
  expect(r.stdout).toMatch(/Migrated 7 message\(s\) in 2 room\(s\), 4 code\(s\), 1 claim\(s\), \d+ audit row\(s\) and \d+ cursor\(s\) to .*verified/);

  const sqlite = SqliteStore.open(new DataDir(dir.path).dbPath);
  const pg = await PgStore.open(target, { max: 2 });
  try {
    const rooms = ["build", "research", "nowhere"];
    const viewers = ["planner", "coder", "early", "scout", "operator"];
    const all = [...Object.values(codes), "not-a-code"];
    expect(await everyRead(pg, rooms, viewers, all)).toEqual(await everyRead(sqlite, rooms, viewers, all));
    // "early" posted only a message that retention pruned: still a member of build.
    expect([...(await pg.participants("build", Date.now())).posters]).toContain("early");
    expect(await new PgSharedState(pg).adminToken()).toBe(new DataDir(dir.path).readToken());
    expect(await pg.findCode(hashCode(codes.coder!))).not.toBeNull();
  } finally {
    await sqlite.close();
    await pg.close();
  }

  const again = await cli(["migrate", "--to", target], cliEnv(dir.path));
  expect(again.code).toBe(1);
  expect(again.stderr).toMatch(/already holds argybargy data/);
});

test("after migrating, the old codes work on a PostgreSQL-backed server and cursors go on without a miss or a repeat", async () => {
  const own = tempDir();
  const server = await serverOn(own.path, { ARGYBARGY_DATABASE_URL: target, ARGYBARGY_RATE_MAX: "0" });
  try {
    const as = (who: string) => (method: string, path: string, body?: unknown) =>
      fetch(`${server.url}${path}`, { method, headers: { authorization: `Bearer ${codes[who]}` }, body: body === undefined ? undefined : JSON.stringify(body) }).then((r) => r.json() as any);
    expect((await as("planner")("GET", "/whoami")).name).toBe("planner");
    const before = await as("coder")("GET", "/messages?since=6");
    expect(before.messages).toEqual([]);
    expect((await as("planner")("POST", "/messages", { text: "after the move" })).message.seq).toBe(7);
    expect((await as("coder")("GET", `/messages?since=${before.cursor}`)).messages.map((m: any) => [m.seq, m.text])).toEqual([[7, "after the move"]]);
    expect(await as("coder")("GET", "/messages/position")).toMatchObject({ read_seq: 5 });
    // The retry of a post made before the move gets its first answer (the room has been closed since: a new post would get 409).
    const retry = await fetch(`${server.url}/messages`, { method: "POST", headers: { authorization: `Bearer ${codes.scout}`, "idempotency-key": keyed.key }, body: keyed.body });
    expect(retry.status).toBe(200);
    expect(((await retry.json()) as any).message).toMatchObject({ seq: keyedSeq, text: "sent once, retried after the move" });
    expect((await as("scout")("GET", "/history?limit=10")).messages.map((m: any) => m.seq)).toEqual([1, keyedSeq]);
  } finally {
    await server.stop();
    own.cleanup();
  }
});

test("bad targets: not a postgres URL, or unreachable (the password never printed); no data dir", async () => {
  const notPg = await cli(["migrate", "--to", "mysql://u:hunter2@h/db"], cliEnv(dir.path));
  expect(notPg.code).toBe(1);
  expect(notPg.stderr).toMatch(/--to must be a postgres:\/\//);
  const down = await cli(["migrate", "--to", "postgres://u:hunter2@127.0.0.1:1/db"], cliEnv(dir.path));
  expect(down.code).toBe(1);
  expect(down.stderr).toMatch(/connection refused/);
  expect(down.stderr + down.stdout).not.toContain("hunter2");
  const empty = tempDir();
  try {
    const none = await cli(["migrate", "--to", target], cliEnv(empty.path));
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/no database at/);
  } finally {
    empty.cleanup();
  }
});
