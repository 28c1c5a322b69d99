import { tempDir } from "../helpers.ts";
import { freePort, spawnServer, type ServerProcess } from "./server-process.ts";

// A crowd of parked long-polls on a real server process, all dropped at once (issue 11 item 3a),
// shared by tests/e2e/storm.test.ts (CI size) and scripts/storm (10,000). The crowd uses raw
// sockets: Bun's fetch runs only 256 requests at a time (STACK.md pitfall 9). Open SSE streams
// (GET /messages/stream) join the crowd beside the polls and are dropped with them.

export interface StormFigures {
  polls: number;
  streams: number;
  agents: number;
  rssBeforeKb: number;
  rssParkedKb: number;
  rssAfterKb: number;
  /** ms from the drop until RSS was within 10% of before (or the wait ran out). */
  rssBackMs: number;
  /** ms from closing every socket until /admin/stats says no poll is parked. */
  drainMs: number;
  parkedAfter: number;
  pollingAgentsAfter: number;
  openStreamsAfter: number;
}

const POLLS_PER_AGENT = 8; // the default ARGYBARGY_MAX_POLLS_PER_AGENT: the crowd stays within it
const STREAMS_PER_AGENT = 4; // the default ARGYBARGY_MAX_STREAMS_PER_AGENT

async function admin(s: ServerProcess, method: string, path: string, body?: unknown): Promise<any> {
  const res = await fetch(`${s.url}${path}`, { method, headers: { "x-admin-token": s.token }, body: body === undefined ? undefined : JSON.stringify(body) });
  if (res.status !== 200) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
  return res.json();
}

/** Waits until `check` holds (polled every 20 ms), or throws after `ms`. */
export async function until(what: string, check: () => Promise<boolean> | boolean, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what}: not reached within ${ms} ms`);
    await Bun.sleep(20);
  }
}

/**
 * Opens `n` sockets (in batches, so the accept queue never overflows), each parking one poll or
 * opening one stream; `perAgent` requests share an agent's code, within its cap.
 */
async function open(s: ServerProcess, codes: string[], n: number, path: string, perAgent: number): Promise<Bun.Socket[]> {
  const sockets: Bun.Socket[] = [];
  for (let i = 0; i < n; i += 500) {
    const batch = await Promise.all(Array.from({ length: Math.min(500, n - i) }, async (_, j) => {
      const socket = await Bun.connect({ hostname: "127.0.0.1", port: s.port, socket: { data() {}, error() {} } });
      socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${codes[Math.floor((i + j) / perAgent)]}\r\n\r\n`);
      return socket;
    }));
    sockets.push(...batch);
  }
  return sockets;
}

/** RSS once it has held still for a second (or after `ms`). */
async function settledRss(s: ServerProcess, ms = 5000): Promise<number> {
  let last = s.rssKb();
  for (const deadline = Date.now() + ms; Date.now() < deadline;) {
    await Bun.sleep(1000);
    const now = s.rssKb();
    if (Math.abs(now - last) < 1024) return now;
    last = now;
  }
  return last;
}

/**
 * Starts a server, parks `polls` polls (8 per agent, the default cap) and opens `streams`
 * streams (4 per agent), drops them all at once,
 * and measures the drain and RSS: before (idle, after a small warm-up crowd), with the crowd
 * parked, and after — waiting up to `rssWaitMs` for the allocator to give pages back (Bun's
 * collector runs on its own timer, 5–15 s after the crowd here).
 */
export async function storm(polls: number, opts: { streams?: number; rssWaitMs?: number; log?: (l: string) => void } = {}): Promise<StormFigures> {
  const log = opts.log ?? (() => {});
  const streams = opts.streams ?? 0;
  const dir = tempDir("argy-storm-");
  const agents = Math.max(Math.ceil(polls / POLLS_PER_AGENT), Math.ceil(streams / STREAMS_PER_AGENT));
  const s = await spawnServer({ dataDir: dir.path, port: freePort(), env: { ARGYBARGY_MAX_WAIT: "120", ARGYBARGY_AUTH_FAIL_MAX: "0", ARGYBARGY_RATE_MAX: "0" } });
  try {
    const codes: string[] = [];
    for (let i = 0; i < agents; i += 50) {
      const batch = await Promise.all(Array.from({ length: Math.min(50, agents - i) }, (_, j) => admin(s, "POST", "/admin/invite", { name: `crowd-${i + j}`, room: "storm" })));
      codes.push(...batch.map((r) => r.code as string));
    }
    const counts = async () => {
      const st = await admin(s, "GET", "/admin/stats");
      return { parked: st.parked_polls as number, polling: st.polling_agents as number, streams: st.open_streams as number };
    };
    const crowd = async (label: string, n: number, m: number) => {
      const sockets = [
        ...await open(s, codes, n, "/messages?since=0&wait=120", POLLS_PER_AGENT),
        ...await open(s, codes, m, "/messages/stream", STREAMS_PER_AGENT),
      ];
      // Each open stream waits on the room between events too, so it counts as a parked waiter.
      await until(`${label}: ${n} polls parked, ${m} streams open`, async () => {
        const c = await counts();
        return c.parked === n + m && c.streams === m;
      }, 60_000);
      const rssParkedKb = s.rssKb();
      const t0 = performance.now();
      for (const socket of sockets) socket.terminate();
      await until(`${label}: no waiter and no stream left`, async () => {
        const c = await counts();
        return c.parked === 0 && c.streams === 0;
      }, 30_000);
      return { rssParkedKb, drainMs: performance.now() - t0 };
    };
    // Every agent calls in once first: what the server keeps per agent (presence, the auth
    // cache, its connect audit row) is not per poll, and belongs in "before".
    for (let i = 0; i < codes.length; i += 50) {
      await Promise.all(codes.slice(i, i + 50).map(async (code) => {
        const res = await fetch(`${s.url}/whoami`, { headers: { authorization: `Bearer ${code}` } });
        if (res.status !== 200) throw new Error(`whoami: ${res.status}`);
        await res.arrayBuffer();
      }));
    }
    // Warm the code paths (JIT, pools) so "before" is the level of a server that has served.
    await crowd("warm-up", Math.min(polls, 200), Math.min(streams, 100));
    const rssBeforeKb = await settledRss(s);
    log(`crowd of ${polls} polls and ${streams} streams from ${agents} agents; RSS before ${Math.round(rssBeforeKb / 1024)} MB`);
    const { rssParkedKb, drainMs } = await crowd("crowd", polls, streams);
    let rssAfterKb = s.rssKb();
    const dropped = Date.now();
    for (const deadline = dropped + (opts.rssWaitMs ?? 45_000); rssAfterKb > rssBeforeKb * 1.1 && Date.now() < deadline;) {
      await Bun.sleep(250);
      rssAfterKb = s.rssKb();
    }
    const rssBackMs = Date.now() - dropped;
    const after = await counts();
    return {
      polls, streams, agents, rssBeforeKb, rssParkedKb, rssAfterKb, rssBackMs, drainMs,
      parkedAfter: after.parked, pollingAgentsAfter: after.polling, openStreamsAfter: after.streams,
    };
  } finally {
    await s.stop("SIGTERM");
    dir.cleanup();
  }
}
