import { tempDir } from "../helpers.ts";
import { freePort, spawnServer, type ServerProcess } from "./server-process.ts";

// A crowd of parked long-polls on a real server process, all dropped at once (issue 11 item 3a),
// shared by tests/e2e/storm.test.ts (CI size) and scripts/storm (10,000). The crowd uses raw
// sockets: Bun's fetch runs only 256 requests at a time (STACK.md pitfall 9). When the streaming
// endpoint lands, `park` should open streams beside the polls (each holding a PollSlots slot)
// and the drop should end both.

export interface StormFigures {
  polls: number;
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
}

const POLLS_PER_AGENT = 8; // the default ARGYBARGY_MAX_POLLS_PER_AGENT: the crowd stays within it

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

/** Opens `n` sockets (in batches, so the accept queue never overflows) each parking one poll. */
async function park(s: ServerProcess, codes: string[], n: number): Promise<Bun.Socket[]> {
  const sockets: Bun.Socket[] = [];
  for (let i = 0; i < n; i += 500) {
    const batch = await Promise.all(Array.from({ length: Math.min(500, n - i) }, async (_, j) => {
      const socket = await Bun.connect({ hostname: "127.0.0.1", port: s.port, socket: { data() {}, error() {} } });
      socket.write(`GET /messages?since=0&wait=120 HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${codes[(i + j) % codes.length]}\r\n\r\n`);
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
 * Starts a server, parks `polls` polls (8 per agent, the default cap), drops them all at once,
 * and measures the drain and RSS: before (idle, after a small warm-up crowd), with the crowd
 * parked, and after — waiting up to `rssWaitMs` for the allocator to give pages back (Bun's
 * collector runs on its own timer, 5–15 s after the crowd here).
 */
export async function storm(polls: number, opts: { rssWaitMs?: number; log?: (l: string) => void } = {}): Promise<StormFigures> {
  const log = opts.log ?? (() => {});
  const dir = tempDir("argy-storm-");
  const agents = Math.ceil(polls / POLLS_PER_AGENT);
  const s = await spawnServer({ dataDir: dir.path, port: freePort(), env: { ARGYBARGY_MAX_WAIT: "120", ARGYBARGY_AUTH_FAIL_MAX: "0", ARGYBARGY_RATE_MAX: "0" } });
  try {
    const codes: string[] = [];
    for (let i = 0; i < agents; i += 50) {
      const batch = await Promise.all(Array.from({ length: Math.min(50, agents - i) }, (_, j) => admin(s, "POST", "/admin/invite", { name: `crowd-${i + j}`, room: "storm" })));
      codes.push(...batch.map((r) => r.code as string));
    }
    const parked = async () => (await admin(s, "GET", "/admin/stats")).parked_polls as number;
    const crowd = async (label: string, n: number) => {
      const sockets = await park(s, codes, n);
      await until(`${label}: ${n} polls parked`, async () => (await parked()) === n, 60_000);
      const rssParkedKb = s.rssKb();
      const t0 = performance.now();
      for (const socket of sockets) socket.terminate();
      await until(`${label}: parked polls back to 0`, async () => (await parked()) === 0, 30_000);
      return { rssParkedKb, drainMs: performance.now() - t0 };
    };
    // Warm the code paths (JIT, pools) so "before" is the level of a server that has served.
    await crowd("warm-up", Math.min(polls, 200));
    const rssBeforeKb = await settledRss(s);
    log(`crowd of ${polls} polls from ${agents} agents; RSS before ${Math.round(rssBeforeKb / 1024)} MB`);
    const { rssParkedKb, drainMs } = await crowd("crowd", polls);
    let rssAfterKb = s.rssKb();
    const dropped = Date.now();
    for (const deadline = dropped + (opts.rssWaitMs ?? 45_000); rssAfterKb > rssBeforeKb * 1.1 && Date.now() < deadline;) {
      await Bun.sleep(250);
      rssAfterKb = s.rssKb();
    }
    const rssBackMs = Date.now() - dropped;
    const stats = await admin(s, "GET", "/admin/stats");
    return { polls, agents, rssBeforeKb, rssParkedKb, rssAfterKb, rssBackMs, drainMs, parkedAfter: stats.parked_polls, pollingAgentsAfter: stats.polling_agents };
  } finally {
    await s.stop("SIGTERM");
    dir.cleanup();
  }
}
