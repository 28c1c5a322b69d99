import { SQL } from "bun";
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { tempDir } from "../helpers.ts";
import { PgCluster } from "../pg-cluster.ts";

// Issue 9: several real `serve` processes on one PostgreSQL database (its own cluster, fsync on,
// because this file restarts it). Every promise must hold across instances.

const MAIN = join(import.meta.dir, "../../src/main.ts");
const RATE_MAX = 30;

type Instance = Awaited<ReturnType<typeof startInstance>>;
let cluster: PgCluster;
let dbUrl: string;
let token: string;
const instances: Instance[] = [];
const dirs: { cleanup: () => void }[] = [];

async function startInstance(): Promise<{ proc: Bun.Subprocess<"ignore", "pipe", "pipe">; url: string }> {
  const dir = tempDir();
  dirs.push(dir);
  const proc = Bun.spawn(["bun", MAIN, "serve", "--port", "0"], {
    env: {
      ...process.env, ARGYBARGY_DATA: dir.path, ARGYBARGY_DATABASE_URL: dbUrl, ARGYBARGY_LOG_LEVEL: "error",
      ARGYBARGY_RATE_MAX: String(RATE_MAX), ARGYBARGY_RATE_WINDOW: "120", ARGYBARGY_LOOP_GUARD: "0", ARGYBARGY_AUTH_FAIL_MAX: "0", ARGYBARGY_MAX_MESSAGES_PER_ROOM: "0",
    },
    stdin: "ignore", stdout: "pipe", stderr: "pipe",
  });
  const reader = proc.stdout.getReader();
  let out = "";
  const deadline = Date.now() + 20_000;
  while (!/listening on (http:\/\/\S+)/.test(out)) {
    if (Date.now() > deadline) throw new Error(`no "listening on" line in time:\n${out}`);
    const { done, value } = await reader.read();
    if (done) throw new Error(`the server exited before listening:\n${out}\n${await new Response(proc.stderr).text()}`);
    out += new TextDecoder().decode(value);
  }
  reader.releaseLock();
  void proc.stdout.pipeTo(new WritableStream()).catch(() => {});
  void proc.stderr.pipeTo(new WritableStream()).catch(() => {});
  const instance = { proc, url: /listening on (http:\/\/\S+)/.exec(out)![1]! };
  instances.push(instance);
  return instance;
}

async function call(base: string, method: string, path: string, auth: { code?: string } = {}, body?: unknown) {
  const headers: Record<string, string> = auth.code ? { authorization: `Bearer ${auth.code}` } : { "x-admin-token": token };
  const res = await fetch(`${base}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: res.status, json: (await res.json().catch(() => null)) as any };
}

async function invite(base: string, name: string, room: string): Promise<string> {
  const r = await call(base, "POST", "/admin/invite", {}, { name, room });
  if (r.status !== 200) throw new Error(`invite ${name}: ${r.status}`);
  return r.json.code;
}

let A: Instance, B: Instance, C: Instance;
beforeAll(async () => {
  cluster = await PgCluster.create({ fsync: true });
  dbUrl = cluster.url;
  [A, B, C] = await Promise.all([startInstance(), startInstance(), startInstance()]);
  const sql = new SQL({ url: dbUrl, max: 1 });
  token = (await sql`SELECT value FROM settings WHERE key = 'admin_token'`)[0].value;
  await sql.close();
}, 60_000);

afterAll(() => {
  for (const i of instances) if (i.proc.exitCode === null) i.proc.kill("SIGKILL");
  cluster?.destroy();
  for (const d of dirs) d.cleanup();
});

/** A poller following its cursor on `base` until it has seen `total` messages: their seqs, in the order received. */
async function follow(base: string, code: string, total: number): Promise<number[]> {
  const seen: number[] = [];
  let cursor = 0;
  while (seen.length < total) {
    const r = await call(base, "GET", `/messages?since=${cursor}&wait=5`, { code });
    expect(r.status).toBe(200);
    for (const m of r.json.messages) seen.push(m.seq);
    cursor = r.json.cursor;
  }
  return seen;
}

describe("several instances on one database", () => {
  test("Invariant N: posters on A, cursor-following pollers on B and C get every seq exactly once (3 runs)", async () => {
    for (let run = 0; run < 3; run++) {
      const room = `inv-${run}`;
      const posters = await Promise.all([0, 1, 2, 3, 4, 5].map((i) => invite(A.url, `p${i}`, room)));
      const followers = await Promise.all([invite(B.url, "fb", room), invite(C.url, "fc", room)]);
      const total = posters.length * RATE_MAX;
      const following = [follow(B.url, followers[0]!, total), follow(C.url, followers[1]!, total)];
      await Promise.all(posters.map(async (code, i) => {
        for (let k = 0; k < RATE_MAX; k++) expect((await call(A.url, "POST", "/messages", { code }, { text: `p${i}-${k}` })).status).toBe(200);
      }));
      const expected = Array.from({ length: total }, (_, i) => i + 1);
      for (const seen of await Promise.all(following)) expect(seen).toEqual(expected);
    }
  }, 120_000);

  test("Invariant N with posters and followers on every instance at once (each instance's cache sees others' commits late)", async () => {
    const bases = [A.url, B.url, C.url];
    for (let run = 0; run < 3; run++) {
      const room = `mix-${run}`;
      const posters = await Promise.all([0, 1, 2, 3, 4, 5].map((i) => invite(bases[i % 3]!, `m${i}`, room)));
      const followers = await Promise.all(bases.map((b, i) => invite(b, `f${i}`, room)));
      const total = posters.length * RATE_MAX;
      const following = followers.map((code, i) => follow(bases[i]!, code, total));
      await Promise.all(posters.map(async (code, i) => {
        for (let k = 0; k < RATE_MAX; k++) expect((await call(bases[i % 3]!, "POST", "/messages", { code }, { text: `m${i}-${k}` })).status).toBe(200);
      }));
      const expected = Array.from({ length: total }, (_, i) => i + 1);
      for (const seen of await Promise.all(following)) expect(seen).toEqual(expected);
    }
  }, 120_000);

  test("300 claimers spread over the three instances: exactly one winner", async () => {
    const room = "claims";
    const asker = await invite(A.url, "asker", room);
    const bases = [A.url, B.url, C.url];
    const claimers = await Promise.all(Array.from({ length: 300 }, (_, i) => invite(bases[i % 3]!, `c${i}`, room)));
    const q = await call(A.url, "POST", "/messages", { code: asker }, { text: "who takes it?", expects_reply: "anyone" });
    const seq = q.json.message.seq;
    const results = await Promise.all(claimers.map((code, i) => call(bases[i % 3]!, "POST", `/messages/${seq}/claim`, { code })));
    const winners = results.filter((r) => r.status === 200);
    expect(winners).toHaveLength(1);
    expect(results.filter((r) => r.status === 409)).toHaveLength(299);
    const holder = winners[0]!.json.claimed_by;
    expect(results.every((r) => r.json.claimed_by === holder)).toBe(true);
    // Every instance reports the same holder.
    for (const base of bases) expect((await call(base, "GET", "/history", { code: asker })).json.messages[0].claimed_by).toBe(holder);
  }, 120_000);

  test("a close through A dismisses the polls parked on B at once", async () => {
    const room = "closing";
    const codes = await Promise.all(Array.from({ length: 20 }, (_, i) => invite(B.url, `w${i}`, room)));
    const parked = codes.map((code) => call(B.url, "GET", "/messages?since=0&wait=25", { code }));
    await Bun.sleep(500);
    const started = performance.now();
    expect((await call(A.url, "POST", `/admin/rooms/${room}/close`, {}, { by: "boss" })).status).toBe(200);
    const answers = await Promise.all(parked);
    expect(performance.now() - started).toBeLessThan(5000);
    for (const a of answers) expect(a.json).toMatchObject({ room_closed: true, messages: [] });
  }, 60_000);

  test("an SSE stream open on C gets a post made on A, and the close of the room on A", async () => {
    const room = "streaming";
    const poster = await invite(A.url, "sp", room);
    const watcher = await invite(C.url, "sw", room);
    const res = await fetch(`${C.url}/messages/stream`, { headers: { authorization: `Bearer ${watcher}` } });
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    let text = "";
    const until = async (needle: string) => {
      const deadline = Date.now() + 10_000;
      while (!text.includes(needle)) {
        if (Date.now() > deadline) throw new Error(`stream never carried ${needle}: ${text}`);
        const { done, value } = await reader.read();
        if (done) break;
        text += new TextDecoder().decode(value);
      }
      return text.includes(needle);
    };
    await Bun.sleep(200);
    expect((await call(A.url, "POST", "/messages", { code: poster }, { text: "streamed across instances" })).status).toBe(200);
    expect(await until("streamed across instances")).toBe(true);
    expect((await call(A.url, "POST", `/admin/rooms/${room}/close`, {}, {})).status).toBe(200);
    expect(await until('"closed"')).toBe(true);
    await reader.cancel().catch(() => {});
  }, 30_000);

  test("the rate limit holds across instances: RATE_MAX posts per window however they are spread", async () => {
    const code = await invite(A.url, "hasty", "rates");
    const bases = [A.url, B.url, C.url];
    const statuses = await Promise.all(Array.from({ length: RATE_MAX + 15 }, (_, i) => call(bases[i % 3]!, "POST", "/messages", { code }, { text: `r${i}` })));
    expect(statuses.filter((r) => r.status === 200)).toHaveLength(RATE_MAX);
    expect(statuses.filter((r) => r.status === 429)).toHaveLength(15);
  }, 60_000);

  test("SIGKILL of one instance under load loses no acknowledged message; the others go on", async () => {
    const room = "kill";
    const bases = [A.url, B.url, C.url];
    const posters = await Promise.all(Array.from({ length: 6 }, (_, i) => invite(A.url, `k${i}`, room)));
    const acked = new Set<string>();
    let refused = 0;
    let killed = false;
    let ackedAfterKill = 0;
    const load = posters.map(async (code, i) => {
      for (let k = 0; k < RATE_MAX; k++) {
        const text = `k${i}-${k}`;
        try {
          const r = await call(bases[(i + k) % 3]!, "POST", "/messages", { code }, { text });
          if (r.status === 200) acked.add(text);
          if (r.status === 200 && killed) ackedAfterKill++;
        } catch {
          refused++; // the killed instance: the client saw no acknowledgement
        }
      }
    });
    await Bun.sleep(150);
    C.proc.kill("SIGKILL");
    killed = true;
    await Promise.all(load);
    expect(ackedAfterKill).toBeGreaterThan(0);
    expect(acked.size).toBeGreaterThan(posters.length * RATE_MAX * 0.5);
    const reader = await invite(A.url, "kreader", room);
    const stored = new Set<string>((await call(B.url, "GET", "/history?limit=500", { code: reader })).json.messages.map((m: any) => m.text));
    for (const text of acked) expect(stored.has(text)).toBe(true);
    const seqs = (await call(A.url, "GET", "/history?limit=500", { code: reader })).json.messages.map((m: any) => m.seq);
    expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => i + 1));
    expect(refused + acked.size).toBeGreaterThanOrEqual(posters.length * RATE_MAX - 6);
  }, 60_000);

  test("PostgreSQL restarting under load: /health says 503 meanwhile, the instances recover by themselves, nothing acknowledged is lost", async () => {
    const room = "restart";
    const posters = await Promise.all(Array.from({ length: 4 }, (_, i) => invite(A.url, `s${i}`, room)));
    const reader = await invite(A.url, "sreader", room);
    const bases = [A.url, B.url];
    const acked = new Set<string>();
    const outage: number[] = [];
    let stop = false;
    const load = posters.map(async (code, i) => {
      for (let k = 0; !stop && k < RATE_MAX; k++) {
        const text = `s${i}-${k}`;
        const r = await call(bases[(i + k) % 2]!, "POST", "/messages", { code }, { text }).catch(() => null);
        if (r?.status === 200) acked.add(text);
        else if (r) outage.push(r.status);
        await Bun.sleep(40);
      }
    });
    // A poll parked on B across the restart is not lost either: it answers once the database is back.
    const waiter = await invite(B.url, "swaiter", room);
    await Bun.sleep(200);
    const high = (await call(B.url, "GET", "/messages?since=0&wait=0", { code: waiter })).json.cursor;
    const parked = call(B.url, "GET", `/messages?since=${high}&wait=25`, { code: waiter });
    await Bun.sleep(100);
    cluster.stop();
    const down = await Promise.all(bases.map((b) => fetch(`${b}/health`).then((r) => r.status)));
    expect(down).toEqual([503, 503]);
    await Bun.sleep(500);
    cluster.start();
    // Recovery without any restart of the relays.
    const deadline = Date.now() + 20_000;
    for (const b of bases) {
      while ((await fetch(`${b}/health`).then((r) => r.status)) !== 200) {
        if (Date.now() > deadline) throw new Error(`${b} did not recover`);
        await Bun.sleep(100);
      }
    }
    await Promise.all(load);
    stop = true;
    // What failed meanwhile failed as "the database is away" (503), never as a relay bug (500).
    expect(outage.filter((status) => status !== 503)).toEqual([]);
    const after = await call(B.url, "POST", "/messages", { code: reader }, { text: "after the restart" });
    expect(after.status).toBe(200);
    acked.add("after the restart");
    const stored = new Set<string>((await call(A.url, "GET", "/history?limit=500", { code: reader })).json.messages.map((m: any) => m.text));
    for (const text of acked) expect(stored.has(text)).toBe(true);
    const woke = await parked;
    expect(woke.status).toBe(200);
    expect(woke.json.messages.length).toBeGreaterThan(0);
  }, 90_000);
});
