import { afterAll, expect, test } from "bun:test";
import { SQL } from "bun";
import { Database } from "bun:sqlite";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tempDir } from "../helpers.ts";
import { PgCluster } from "../pg-cluster.ts";
import { freePort, killAll, spawnServer, type ServerProcess } from "./server-process.ts";

// Issue 11 item 1: an acknowledged message is never lost. 16 agents post (over HTTP, a quarter
// of them through the MCP `send` tool; a quarter of the posts are `expects_reply: anyone`
// questions that the others race to claim) while the operator says,
// closes and reopens rooms, and the server is SIGKILLed at random moments KILLS times,
// restarted each time on the same data dir and port. Then the database must hold every post
// that got a 2xx with its seq and text, gap-free seqs per room, one holder per claim matching
// every 200 claim answer, and pass PRAGMA integrity_check.
//
// The store is a plug-in (`CrashStore`): its server environment and how to read the result
// back. The PostgreSQL entry runs a private cluster with fsync on (tests/pg-cluster.ts), reads
// the same rows through Bun's SQL and checks integrity with amcheck (bt_index_check with
// heapallindexed on the messages indexes, verify_heapam on the table). Its second run crashes
// the database (immediate stop: no checkpoint, WAL replay at the next start) instead of the
// relay: the relay must answer 503 while it is away, never 500, and recover by itself.

const KILLS = 10;
const DB_RESTARTS = 4; // database crashes in the PostgreSQL store's second run
const AGENTS = 16;
const ROOMS = ["crash-a", "crash-b", "crash-c", "crash-d"];
const LIFE_MS: [number, number] = [300, 1100]; // each server life lasts a random time in this range
const SEED = Number(process.env.CRASH_SEED ?? Date.now() % 2 ** 31);

const dirs: { cleanup: () => void }[] = [];
const clusters: PgCluster[] = [];
afterAll(() => {
  killAll();
  for (const c of clusters) c.destroy();
  for (const d of dirs) d.cleanup();
});

/** mulberry32: a small seeded generator, so the kill moments of a failing run can be replayed. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Ack = { room: string; seq: number; text: string; viaMcp?: boolean };
type ClaimWin = { room: string; seq: number; by: string };

interface Tally {
  acks: Ack[];
  wins: ClaimWin[];
  statuses: Map<number, number>;
  connectionErrors: number;
  lastStatus: number;
}

/** One HTTP call that never throws: a refused or cut connection is status 0 (not acknowledged). */
async function call(base: string, method: string, path: string, headers: Record<string, string>, body: unknown, tally: Tally) {
  try {
    const res = await fetch(`${base}${path}`, {
      method, headers: { ...headers, "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body), signal: AbortSignal.timeout(5000),
    });
    const json = (await res.json().catch(() => null)) as any;
    tally.statuses.set(res.status, (tally.statuses.get(res.status) ?? 0) + 1);
    tally.lastStatus = res.status;
    return { status: res.status, json };
  } catch {
    tally.connectionErrors++;
    tally.lastStatus = 0;
    return { status: 0, json: null };
  }
}

/** Posts over HTTP, or (`viaMcp`) with the MCP `send` tool on /mcp; returns the acknowledged seq, or null. */
async function send(base: string, auth: Record<string, string>, body: Record<string, string>, viaMcp: boolean, tally: Tally): Promise<number | null> {
  if (!viaMcp) {
    const r = await call(base, "POST", "/messages", auth, body, tally);
    return r.status === 200 ? r.json.message.seq : null;
  }
  const rpc = { jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: "send", arguments: body } };
  const r = await call(base, "POST", "/mcp", { ...auth, accept: "application/json, text/event-stream" }, rpc, tally);
  if (r.status !== 200 || r.json?.result?.isError) return null;
  return JSON.parse(r.json.result.content[0].text).seq;
}

async function agentLoop(base: string, code: string, name: string, room: string, random: () => number, stop: { done: boolean }, tally: Tally, viaMcp: boolean) {
  const auth = { authorization: `Bearer ${code}` };
  let cursor = 0;
  for (let n = 0; !stop.done; n++) {
    const text = `${name} #${n} ${random().toString(36).slice(2, 8)}`;
    const body: Record<string, string> = random() < 0.25 ? { text, expects_reply: "anyone" } : { text };
    const seq = await send(base, auth, body, viaMcp, tally);
    if (seq !== null) tally.acks.push({ room, seq, text, viaMcp });
    if (tally.lastStatus === 0 || tally.lastStatus === 503) await Bun.sleep(20); // the server or its database is down: try again shortly
    const poll = await call(base, "GET", `/messages?since=${cursor}&wait=0`, auth, undefined, tally);
    if (poll.status !== 200) continue;
    cursor = poll.json.cursor;
    for (const m of poll.json.messages as any[]) {
      if (m.expects_reply_resolved !== "anyone" || m.from === name || m.claimed_by !== null) continue;
      const c = await call(base, "POST", `/messages/${m.seq}/claim`, auth, undefined, tally);
      if (c.status === 200) tally.wins.push({ room, seq: m.seq, by: c.json.claimed_by });
    }
  }
}

async function operatorLoop(base: string, token: () => string, random: () => number, stop: { done: boolean }, tally: Tally) {
  for (let n = 0; !stop.done; n++) {
    const headers = { "x-admin-token": token() };
    const room = ROOMS[Math.floor(random() * ROOMS.length)]!;
    const roll = random();
    if (roll < 0.08) {
      await call(base, "POST", `/admin/rooms/${room}/close`, headers, { by: "crash-test" }, tally);
      await Bun.sleep(30);
      // A reopen cut by a kill is retried until it lands (reopening is idempotent): otherwise the
      // room stays closed until the dice pick it again, and its agents post nothing meanwhile.
      while ((await call(base, "POST", `/admin/rooms/${room}/reopen`, { "x-admin-token": token() }, undefined, tally)).status !== 200 && !stop.done) {
        await Bun.sleep(20);
      }
    } else {
      const text = `operator #${n} in ${room}`;
      const r = await call(base, "POST", "/admin/say", headers, roll < 0.3 ? { room, text, expects_reply: "anyone" } : { room, text }, tally);
      if (r.status === 200) tally.acks.push({ room, seq: r.json.message.seq, text });
      if (r.status === 0 || r.status === 503) await Bun.sleep(20);
    }
    await Bun.sleep(5);
  }
}

interface ReadBack {
  integrity: string[];
  messages: { room: string; seq: number; text: string; claimed_by: string | null }[];
  lastSeq: Map<string, number>;
}

/** A store the crash test runs against: what its server needs, and how to read the outcome back after the last stop. */
interface CrashStore {
  name: string;
  /** Prepares the store for a run on `dataDir` and returns the server's extra environment. */
  env: (dataDir: string) => Promise<Record<string, string>>;
  readBack: (dataDir: string) => Promise<ReadBack>;
  /** Present when the store is a separate server: crash it, and start it again on the same data. */
  database?: { crash: () => void; start: () => void };
}

const sqlite: CrashStore = {
  name: "SQLite",
  env: async () => ({}),
  readBack: async (dataDir) => {
    const db = new Database(join(dataDir, "argybargy.db"), { readonly: true });
    try {
      return {
        integrity: (db.query("PRAGMA integrity_check").all() as { integrity_check: string }[]).map((r) => r.integrity_check),
        messages: db.query("SELECT room, seq, text, claimed_by FROM messages ORDER BY room, seq").all() as ReadBack["messages"],
        lastSeq: new Map((db.query("SELECT room, last_seq FROM rooms").all() as { room: string; last_seq: number }[]).map((r) => [r.room, r.last_seq])),
      };
    } finally {
      db.close();
    }
  },
};

/** A PostgreSQL store on its own cluster (fsync on), created at the run's start. */
function postgres(): CrashStore {
  let cluster: PgCluster | undefined;
  const live = () => cluster ?? (() => { throw new Error("the cluster is not up"); })();
  return {
    name: "PostgreSQL",
    env: async (dataDir) => {
      cluster = await PgCluster.create({ fsync: true });
      clusters.push(cluster);
      // With a database URL the token lives in the database; the first start adopts the file's,
      // so spawnServer can read it from the data dir as for SQLite.
      mkdirSync(dataDir, { recursive: true, mode: 0o700 });
      writeFileSync(join(dataDir, "admin.token"), `crash-${crypto.randomUUID()}`, { mode: 0o600 });
      return { ARGYBARGY_DATABASE_URL: cluster.url };
    },
    readBack: async () => {
      const sql = new SQL({ url: live().url, max: 1 });
      try {
        await sql`CREATE EXTENSION IF NOT EXISTS amcheck`;
        const integrity: string[] = [];
        const indexes = await sql`SELECT indexrelid::regclass::text AS name FROM pg_index WHERE indrelid = 'messages'::regclass`;
        for (const { name } of indexes) {
          // Throws on a corrupt index; heapallindexed also proves every heap row is in it.
          await sql`SELECT bt_index_check(${name}::regclass, true)`.catch((e: Error) => integrity.push(`${name}: ${e.message}`));
        }
        for (const r of await sql`SELECT blkno, offnum, msg FROM verify_heapam('messages')`) integrity.push(`messages block ${r.blkno}/${r.offnum}: ${r.msg}`);
        if (indexes.length < 3) integrity.push(`only ${indexes.length} messages indexes checked`);
        return {
          integrity: integrity.length ? integrity : ["ok"],
          messages: [...await sql`SELECT room, seq::int AS seq, text, claimed_by FROM messages ORDER BY room, seq`] as ReadBack["messages"],
          lastSeq: new Map([...await sql`SELECT room, last_seq::int AS last_seq FROM rooms`].map((r) => [r.room, r.last_seq])),
        };
      } finally {
        await sql.close();
      }
    },
    database: { crash: () => live().crash(), start: () => live().start() },
  };
}

/** What goes wrong during a run: the relay is SIGKILLed and restarted, or its database crashes and comes back. */
type Fault = "relay" | "database";

/** Polls /health until it answers `status`; throws after `ms`. */
async function healthBecomes(base: string, status: number, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while ((await fetch(`${base}/health`).then((r) => r.status).catch(() => 0)) !== status) {
    if (Date.now() > deadline) throw new Error(`${base}/health did not answer ${status} within ${ms} ms`);
    await Bun.sleep(50);
  }
}

const RUNS: { store: CrashStore; fault: Fault }[] = [
  { store: sqlite, fault: "relay" },
  { store: postgres(), fault: "relay" },
  { store: postgres(), fault: "database" },
];

for (const { store, fault } of RUNS) test(fault === "relay"
  ? `${store.name}: every acknowledged post and claim survives ${KILLS} SIGKILLs of the relay under load`
  : `${store.name}: every acknowledged post and claim survives ${DB_RESTARTS} database crashes under load; the relay answers 503 meanwhile and recovers by itself`, async () => {
  console.error(`crash test (${store.name}, ${fault}): seed ${SEED} (rerun with CRASH_SEED=${SEED})`);
  const random = rng(SEED);
  const tmp = tempDir("argy-crash-");
  dirs.push(tmp);
  const dataDir = join(tmp.path, "data");
  const port = freePort();
  const env = { ARGYBARGY_RATE_MAX: "0", ARGYBARGY_AUTH_FAIL_MAX: "0", ARGYBARGY_MAX_MESSAGES_PER_ROOM: "0", ARGYBARGY_LOOP_GUARD: "0", ...await store.env(dataDir) };
  let server: ServerProcess = await spawnServer({ dataDir, port, env });
  const base = server.url;
  const tally: Tally = { acks: [], wins: [], statuses: new Map(), connectionErrors: 0, lastStatus: 200 };

  const codes: { code: string; name: string; room: string }[] = [];
  for (let i = 0; i < AGENTS; i++) {
    const name = `agent-${i}`;
    const room = ROOMS[i % ROOMS.length]!;
    const r = await call(base, "POST", "/admin/invite", { "x-admin-token": server.token }, { name, room }, tally);
    expect(r.status).toBe(200);
    codes.push({ code: r.json.code, name, room });
  }

  const stop = { done: false };
  const loops = [
    // A quarter of the agents post through the MCP `send` tool: its acknowledgement promises the same.
    ...codes.map((c, i) => agentLoop(base, c.code, c.name, c.room, rng(SEED + i + 1), stop, tally, i % 4 === 3)),
    operatorLoop(base, () => server.token, rng(SEED + 999), stop, tally),
  ];
  let faults = 0;
  let acksAtLastFault = 0;
  try {
    for (; faults < (fault === "relay" ? KILLS : DB_RESTARTS); faults++) {
      await Bun.sleep(LIFE_MS[0] + random() * (LIFE_MS[1] - LIFE_MS[0]));
      if (fault === "relay") {
        await server.stop("SIGKILL");
        server = await spawnServer({ dataDir, port, env });
      } else {
        store.database!.crash();
        // The load goes on against a relay whose database is gone: 503s, never 500s.
        await Bun.sleep(100 + random() * 300);
        expect((await fetch(`${base}/health`)).status).toBe(503);
        store.database!.start();
        await healthBecomes(base, 200, 20_000); // no restart of the relay
      }
    }
    acksAtLastFault = tally.acks.length;
    await Bun.sleep(LIFE_MS[0]);
  } finally {
    stop.done = true;
    await Promise.all(loops);
  }
  expect(await server.stop("SIGTERM")).toBe(0);

  const db = await store.readBack(dataDir);
  expect(db.integrity).toEqual(["ok"]);
  // Per room: seqs 1..last_seq, each once.
  const byRoom = new Map<string, number[]>();
  for (const m of db.messages) (byRoom.get(m.room) ?? byRoom.set(m.room, []).get(m.room)!).push(m.seq);
  for (const [room, seqs] of byRoom) {
    expect({ room, seqs: seqs.length, last: db.lastSeq.get(room) }).toEqual({ room, seqs: db.lastSeq.get(room)!, last: seqs.length });
    expect(seqs.every((s, i) => s === i + 1)).toBe(true);
  }

  // Every acknowledged post is there with its seq and text.
  const stored = new Map(db.messages.map((m) => [`${m.room}/${m.seq}`, m]));
  const lost = tally.acks.filter((a) => stored.get(`${a.room}/${a.seq}`)?.text !== a.text);
  expect(lost).toEqual([]);
  expect(new Set(tally.acks.map((a) => `${a.room}/${a.seq}`)).size).toBe(tally.acks.length);

  // One holder per claim: every 200 names the stored holder, and no seq has two winners.
  const winners = new Map<string, Set<string>>();
  for (const w of tally.wins) (winners.get(`${w.room}/${w.seq}`) ?? winners.set(`${w.room}/${w.seq}`, new Set()).get(`${w.room}/${w.seq}`)!).add(w.by);
  const doubleWins = [...winners].filter(([, names]) => names.size > 1);
  expect(doubleWins).toEqual([]);
  const mismatched = [...winners].filter(([key, names]) => stored.get(key)?.claimed_by !== [...names][0]);
  expect(mismatched).toEqual([]);

  // 503 is "the database is away" (only while it is); any other 5xx is a relay bug.
  const fiveHundreds = [...tally.statuses].filter(([s]) => s >= 500 && !(fault === "database" && s === 503));
  expect(fiveHundreds).toEqual([]);
  // The run must have exercised what it claims to: posts, contested claims, closed rooms, kills mid-flight.
  // PostgreSQL with fsync on acknowledges fewer posts per second on this shared machine (~500 a run against SQLite's ~2,000).
  expect(tally.acks.length).toBeGreaterThan(store.database ? 150 : 300);
  expect(tally.acks.filter((a) => a.viaMcp).length).toBeGreaterThan(20);
  expect(tally.wins.length).toBeGreaterThan(10);
  expect(tally.acks.length).toBeGreaterThan(acksAtLastFault); // posting resumed after the last fault
  expect(tally.statuses.get(409) ?? 0).toBeGreaterThan(0);
  if (fault === "relay") expect(tally.connectionErrors).toBeGreaterThan(0);
  // The relay itself never went away: every call got an answer, the outages as 503s.
  else expect({ cut: tally.connectionErrors, unavailable: (tally.statuses.get(503) ?? 0) > 0 }).toEqual({ cut: 0, unavailable: true });
  const survived = fault === "relay" ? `${faults} relay kills survived` : `${faults} database crashes survived (relay not restarted; ${tally.statuses.get(503) ?? 0} calls answered 503 meanwhile)`;
  console.error(`crash test (${store.name}): ${survived}; ${tally.acks.length} acknowledged posts (${tally.acks.filter((a) => a.viaMcp).length} via MCP) and ${winners.size} claims checked against ${db.messages.length} stored messages; ${tally.connectionErrors} calls cut; statuses ${JSON.stringify(Object.fromEntries(tally.statuses))}`);
}, 180_000);
