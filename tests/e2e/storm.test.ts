import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { tempDir } from "../helpers.ts";
import { freePort, killAll, spawnServer, type ServerProcess } from "./server-process.ts";
import { storm, until } from "./storm-harness.ts";

// Issue 11 item 3 on real server processes: (a) a crowd of parked polls and open SSE streams
// dropped at once leaves no waiter or stream behind and RSS returns to its level before it; (b) a client trickling its
// headers or body one byte a second is cut off without ever holding a waiter; (c) one agent
// opening hundreds of polls gets ARGYBARGY_MAX_POLLS_PER_AGENT of them and 429s for the rest.
// CI uses STORM_POLLS (2,000) and STORM_STREAMS (1,000); `scripts/storm` runs 10,000 of each.

const STORM_POLLS = Number(process.env.STORM_POLLS ?? 2000);
const STORM_STREAMS = Number(process.env.STORM_STREAMS ?? 1000);

afterAll(() => killAll());

test(`${STORM_POLLS} parked polls and ${STORM_STREAMS} open streams dropped at once: no waiter or stream left, RSS back within 10%`, async () => {
  const f = await storm(STORM_POLLS, { streams: STORM_STREAMS });
  console.error(`storm: ${f.polls} polls and ${f.streams} streams from ${f.agents} agents; RSS ${f.rssBeforeKb >> 10} -> ${f.rssParkedKb >> 10} MB parked -> ${f.rssAfterKb >> 10} MB after ${Math.round(f.rssBackMs)} ms; drained in ${Math.round(f.drainMs)} ms`);
  expect(f.parkedAfter).toBe(0);
  expect(f.pollingAgentsAfter).toBe(0);
  expect(f.openStreamsAfter).toBe(0);
  expect(f.rssParkedKb).toBeGreaterThan(f.rssBeforeKb); // the crowd was really there
  expect(f.rssAfterKb).toBeLessThanOrEqual(f.rssBeforeKb * 1.1);
}, 120_000);

describe("slow clients and runaway agents", () => {
  let s: ServerProcess;
  let dir: ReturnType<typeof tempDir>;
  const admin = async (method: string, path: string, body?: unknown) =>
    (await fetch(`${s.url}${path}`, { method, headers: { "x-admin-token": s.token }, body: body === undefined ? undefined : JSON.stringify(body) })).json() as Promise<any>;
  const invite = async (name: string, room: string) => (await admin("POST", "/admin/invite", { name, room })).code as string;

  beforeAll(async () => {
    dir = tempDir("argy-slow-");
    // MAX_WAIT=0 makes the server's idle timeout its shortest (MAX_WAIT + 15 s).
    s = await spawnServer({ dataDir: dir.path, port: freePort(), env: { ARGYBARGY_MAX_WAIT: "0", ARGYBARGY_MAX_POLLS_PER_AGENT: "8" } });
  });
  afterAll(async () => {
    await s.stop();
    dir.cleanup();
  });

  /** Writes `head` then `trickle` one byte per second until the server closes; resolves with the seconds it took. */
  async function trickler(head: string, trickle: string): Promise<{ seconds: number; answer: string }> {
    const t0 = performance.now();
    let closed = false;
    let answer = "";
    const socket = await Bun.connect({
      hostname: "127.0.0.1", port: s.port,
      socket: { data: (_s, d) => { answer += Buffer.from(d).toString("latin1"); }, close: () => { closed = true; }, end: () => { closed = true; }, error: () => { closed = true; } },
    });
    socket.write(head);
    for (let i = 0; !closed && i < trickle.length && performance.now() - t0 < 60_000; i++) {
      socket.write(trickle[i]!);
      await Bun.sleep(1000);
    }
    socket.end();
    return { seconds: (performance.now() - t0) / 1000, answer };
  }

  test("headers or a body trickled at one byte per second are cut off, and never hold a waiter", async () => {
    const code = await invite("slowpoke", "slow");
    const long = "x".repeat(200);
    let maxParked = 0;
    let watching = true;
    const watch = (async () => {
      while (watching) {
        maxParked = Math.max(maxParked, (await admin("GET", "/admin/stats")).parked_polls);
        await Bun.sleep(500);
      }
    })();
    const [headers, body] = await Promise.all([
      trickler("GET /messages?since=0&wait=0 HTTP/1.1\r\nHost: 127.0.0.1\r\n", `Authorization: Bearer ${code}\r\nX-Pad: ${long}\r\n\r\n`),
      trickler(`POST /messages HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${code}\r\nContent-Length: 200\r\n\r\n`, `{"text":"${long}"}`),
    ]);
    watching = false;
    await watch;
    console.error(`slow clients: headers cut after ${headers.seconds.toFixed(1)} s, body after ${body.seconds.toFixed(1)} s`);
    // Cut well before the trickle could finish (200+ s); the bounds are generous (idle timeout 15 s).
    expect(headers.seconds).toBeLessThan(45);
    expect(body.seconds).toBeLessThan(45);
    expect(headers.answer).not.toContain("200 OK");
    expect(maxParked).toBe(0);
    expect((await admin("GET", "/admin/stats")).messages).toBe(0);
  }, 90_000);

  test("one agent opening 300 concurrent polls gets 8 parked and 292 immediate 429 too_many_polls; the room still works", async () => {
    // This server's MAX_WAIT is 0, so polls answer at once; park on a second server with real waits.
    const d = tempDir("argy-cap-");
    const capped = await spawnServer({ dataDir: d.path, port: freePort(), env: { ARGYBARGY_MAX_WAIT: "60", ARGYBARGY_MAX_POLLS_PER_AGENT: "8" } });
    try {
      const call = async (method: string, path: string, headers: Record<string, string>, body?: unknown) => {
        const r = await fetch(`${capped.url}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
        return { status: r.status, json: (await r.json()) as any };
      };
      const mint = async (name: string) => (await call("POST", "/admin/invite", { "x-admin-token": capped.token }, { name, room: "busy" })).json.code as string;
      const runaway = await mint("runaway");
      const calm = await mint("calm");
      const answers: string[] = [];
      const sockets = await Promise.all(Array.from({ length: 300 }, async () => {
        const socket = await Bun.connect({ hostname: "127.0.0.1", port: capped.port, socket: { data: (_s, d) => { answers.push(Buffer.from(d).toString("latin1")); }, error() {} } });
        socket.write(`GET /messages?since=0&wait=60 HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${runaway}\r\n\r\n`);
        return socket;
      }));
      await until("292 refusals", () => answers.length >= 292, 20_000);
      expect(answers.every((a) => a.startsWith("HTTP/1.1 429") && a.includes('"error":"too_many_polls"'))).toBe(true);
      const stats = (await call("GET", "/admin/stats", { "x-admin-token": capped.token })).json;
      expect({ parked: stats.parked_polls, agents: stats.polling_agents }).toEqual({ parked: 8, agents: 1 });
      // Another agent of the same room parks and is woken as usual.
      const calmPoll = call("GET", "/messages?since=0&wait=30", { authorization: `Bearer ${calm}` });
      await until("calm parked", async () => (await call("GET", "/admin/stats", { "x-admin-token": capped.token })).json.parked_polls === 9, 10_000);
      expect((await call("POST", "/messages", { authorization: `Bearer ${runaway}` }, { text: "done" })).status).toBe(200);
      const woken = await calmPoll;
      expect(woken.status).toBe(200);
      expect(woken.json.messages.map((m: any) => m.text)).toEqual(["done"]);
      // Its own message does not answer the runaway's polls (nobody receives their own); the operator's does.
      expect((await call("POST", "/admin/say", { "x-admin-token": capped.token }, { room: "busy", text: "stop" })).status).toBe(200);
      await until("runaway's 8 answered", () => answers.length === 300, 10_000);
      expect(answers.filter((a) => a.startsWith("HTTP/1.1 200")).length).toBe(8);
      for (const socket of sockets) socket.terminate();
      await until("no poll parked", async () => (await call("GET", "/admin/stats", { "x-admin-token": capped.token })).json.parked_polls === 0, 10_000);
    } finally {
      await capped.stop();
      d.cleanup();
    }
  }, 60_000);
});
