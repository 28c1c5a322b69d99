import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startServer, type RunningServer } from "../../src/cli/serve.ts";
import { newTestApp, tempDir, testConfig } from "../helpers.ts";

// SPEC §5.6, §6.9, §7.2, §7.5, §7.6: long-poll on a real socket (parking, waking, aborting, the
// no-lost-messages invariant) and the poll budget with an injected clock.

interface Live {
  server: RunningServer;
  call: (method: string, path: string, opts?: { code?: string; admin?: boolean; body?: unknown; signal?: AbortSignal }) => Promise<{ status: number; json: any; ms: number }>;
  invite: (name: string, room: string) => Promise<string>;
  cleanup: () => Promise<void>;
}

async function live(env: Record<string, string> = {}): Promise<Live> {
  const dir = tempDir();
  const server = await startServer(testConfig({ ARGYBARGY_PORT: "0", ARGYBARGY_LOG_LEVEL: "error", ARGYBARGY_RATE_MAX: "0", ...env }, dir.path));
  const call: Live["call"] = async (method, path, opts = {}) => {
    const headers: Record<string, string> = {};
    if (opts.code) headers.authorization = `Bearer ${opts.code}`;
    if (opts.admin) headers["x-admin-token"] = server.adminToken;
    const started = performance.now();
    const res = await fetch(`${server.url}${path}`, { method, headers, body: opts.body === undefined ? undefined : JSON.stringify(opts.body), signal: opts.signal });
    const json = await res.json().catch(() => null);
    return { status: res.status, json, ms: performance.now() - started };
  };
  const invite = async (name: string, room: string) => {
    const r = await call("POST", "/admin/invite", { admin: true, body: { name, room } });
    expect(r.status).toBe(200);
    return r.json.code as string;
  };
  return { server, call, invite, cleanup: async () => { await server.stop(); dir.cleanup(); } };
}

/** Polls `check` until it holds, or fails after `ms`. */
async function until(check: () => boolean, ms = 3000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error("condition not reached in time");
    await Bun.sleep(5);
  }
}

describe("on a real server", () => {
  let s: Live;
  beforeAll(async () => {
    s = await live({ ARGYBARGY_MAX_WAIT: "20" });
  });
  afterAll(async () => {
    await s.cleanup();
  });

  test("a parked poll wakes promptly when a message arrives", async () => {
    const alice = await s.invite("alice", "wake");
    const bob = await s.invite("bob", "wake");
    const poll = s.call("GET", "/messages?since=0&wait=15", { code: bob });
    await until(() => s.server.relay.waiters.count() === 1);
    await Bun.sleep(200);
    const posted = performance.now();
    expect((await s.call("POST", "/messages", { code: alice, body: { text: "wake up" } })).status).toBe(200);
    const r = await poll;
    const latency = performance.now() - posted;
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ cursor: 1, messages: [{ seq: 1, text: "wake up", from: "alice" }], should_exit: false });
    expect(r.ms).toBeGreaterThan(150); // it really parked
    expect(latency).toBeLessThan(2000);
    expect(s.server.relay.waiters.count()).toBe(0);
  });

  test("messages the poller cannot see do not answer it, and re-parking keeps the deadline of arrival", async () => {
    const alice = await s.invite("alice", "repark");
    const bob = await s.invite("bob", "repark");
    await s.invite("carol", "repark");
    const poll = s.call("GET", "/messages?since=0&wait=2", { code: bob });
    await until(() => s.server.relay.waiters.count() === 1);
    await Bun.sleep(700);
    await s.call("POST", "/messages", { code: alice, body: { text: "for carol only", to: "carol" } });
    await Bun.sleep(700);
    await s.call("POST", "/messages", { code: bob, body: { text: "bob's own" } });
    const r = await poll;
    expect(r.json).toMatchObject({ messages: [], cursor: 2 });
    expect(r.ms).toBeGreaterThan(1800);
    expect(r.ms).toBeLessThan(2900); // not 2 s after the last wake
    expect(s.server.relay.waiters.count()).toBe(0);
  });

  test("a closed room answers at once with should_exit and the queued messages", async () => {
    const bob = await s.invite("bob", "shut");
    await s.call("POST", "/admin/say", { admin: true, body: { room: "shut", text: "one" } });
    await s.call("POST", "/admin/say", { admin: true, body: { room: "shut", text: "two" } });
    const closed = await s.call("POST", "/admin/rooms/shut/close", { admin: true, body: { by: "  " } });
    expect(closed.json.room).toMatchObject({ name: "shut", status: "closed", closed_by: "operator" });
    const r = await s.call("GET", "/messages?since=0&wait=15", { code: bob });
    expect(r.ms).toBeLessThan(1000);
    expect(r.json).toMatchObject({
      messages: [{ text: "one" }, { text: "two" }], cursor: 2, room_closed: true, should_exit: true, exit_reason: "room_closed",
      room: { name: "shut", status: "closed", closed_by: "operator" }, poll_budget: { should_exit: true, reason: "room_closed" },
    });
    expect(r.json.room.closed_at).toBe(closed.json.room.closed_at);
  });

  test("closing a room wakes every parked poll of that room at once, and no other", async () => {
    const codes = await Promise.all(["a", "b", "c", "d", "e"].map((n) => s.invite(n, "crowd")));
    const outsider = await s.invite("x", "quiet");
    const polls = codes.map((code) => s.call("GET", "/messages?since=0&wait=15", { code }));
    const abort = new AbortController();
    const other = s.call("GET", "/messages?since=0&wait=15", { code: outsider, signal: abort.signal }).catch((e) => e);
    await until(() => s.server.relay.waiters.count() === 6);
    const closedAt = performance.now();
    await s.call("POST", "/admin/rooms/crowd/close", { admin: true });
    const answers = await Promise.all(polls);
    expect(performance.now() - closedAt).toBeLessThan(2000);
    for (const r of answers) expect(r.json).toMatchObject({ should_exit: true, exit_reason: "room_closed", messages: [] });
    expect(s.server.relay.waiters.count()).toBe(1); // the other room's poll is still parked
    abort.abort();
    await other;
    await until(() => s.server.relay.waiters.count() === 0);
  });

  test("aborting a parked poll removes its waiter; a revoked code's parked poll finishes normally", async () => {
    const code = await s.invite("leaver", "abort");
    const abort = new AbortController();
    const gone = s.call("GET", "/messages?wait=15", { code, signal: abort.signal }).catch((e) => e);
    await until(() => s.server.relay.waiters.count() === 1);
    abort.abort();
    expect(await gone).toBeInstanceOf(Error);
    await until(() => s.server.relay.waiters.count() === 0, 2000);

    const revoked = await s.invite("revoked", "abort");
    const parked = s.call("GET", "/messages?since=0&wait=1", { code: revoked });
    await until(() => s.server.relay.waiters.count() === 1);
    expect((await s.call("POST", "/admin/revoke", { admin: true, body: { target: "revoked" } })).json).toEqual({ revoked: 1 });
    const r = await parked;
    expect(r.status).toBe(200);
    expect(r.ms).toBeGreaterThan(800);
    expect((await s.call("GET", "/messages", { code: revoked })).status).toBe(401);
  });

  test("Invariant N: a cursor follower gets seqs 1..180 exactly once while 3 posters race it (5 runs)", async () => {
    for (let run = 1; run <= 5; run++) {
      const room = `inv-${run}`;
      const follower = await s.invite("follower", room);
      let postersDone = false;
      const posters = Promise.all([0, 1, 2].map(async (p) => {
        for (let i = 0; i < 60; i++) {
          const r = await s.call("POST", "/admin/say", { admin: true, body: { room, sender: `poster-${p}`, text: `${p}:${i}` } });
          if (r.status !== 200) throw new Error(`say failed: ${r.status}`);
        }
      })).finally(() => { postersDone = true; });
      const seen: number[] = [];
      let cursor = 0;
      while (!postersDone) {
        const r = await s.call("GET", `/messages?since=${cursor}&wait=3`, { code: follower });
        expect(r.status).toBe(200);
        for (const m of r.json.messages) expect(m.seq).toBeGreaterThan(cursor);
        seen.push(...r.json.messages.map((m: any) => m.seq));
        cursor = r.json.cursor;
      }
      await posters;
      const last = await s.call("GET", `/messages?since=${cursor}&wait=0`, { code: follower });
      seen.push(...last.json.messages.map((m: any) => m.seq));
      expect({ run, seen }).toEqual({ run, seen: Array.from({ length: 180 }, (_, i) => i + 1) });
      expect(last.json.cursor).toBe(180);
    }
  }, 60_000);

  test("/admin/changes parks and wakes on a message, a close and an invite", async () => {
    for (const change of [
      () => s.call("POST", "/admin/say", { admin: true, body: { room: "feed", text: "hi" } }),
      () => s.call("POST", "/admin/rooms/feed/close", { admin: true }),
      () => s.call("POST", "/admin/invite", { admin: true, body: { name: `n${Date.now()}`, room: "feed" } }),
    ]) {
      const { cursor } = (await s.call("GET", "/admin/changes?wait=0", { admin: true })).json;
      const parked = s.call("GET", `/admin/changes?since=${cursor}&wait=15`, { admin: true });
      await until(() => s.server.relay.waiters.count() === 1);
      await change();
      const r = await parked;
      expect(r.ms).toBeLessThan(2000);
      expect(r.json.changed).toBe(true);
      expect(r.json.cursor).toBeGreaterThan(cursor);
      expect(r.json.rooms).toContain("feed");
    }
  });

  test("shutdown answers every parked poll at once", async () => {
    const other = await live({ ARGYBARGY_MAX_WAIT: "20" });
    const code = await other.invite("sleeper", "lab");
    const poll = other.call("GET", "/messages?wait=15", { code });
    await until(() => other.server.relay.waiters.count() === 1);
    const stop = other.cleanup();
    const r = await poll;
    await stop;
    expect(r.status).toBe(200);
    expect(r.ms).toBeLessThan(3000);
  });
});

describe("on a real server with short limits", () => {
  test("wait is clamped to MAX_WAIT; the idle valve does not shorten a parked poll", async () => {
    const s = await live({ ARGYBARGY_MAX_WAIT: "2", ARGYBARGY_MAX_IDLE_SECONDS: "1" });
    try {
      const code = await s.invite("idler", "lab");
      const r = await s.call("GET", "/messages?since=0&wait=60", { code });
      expect(r.ms).toBeGreaterThan(1900);
      expect(r.ms).toBeLessThan(6000);
      expect(r.json).toMatchObject({ messages: [], cursor: 0, should_exit: true, exit_reason: "idle_timeout" });
      expect(r.json.poll_budget.waited_seconds).toBeGreaterThanOrEqual(1.9);
      const changes = await s.call("GET", "/admin/changes?since=999999&wait=60", { admin: true });
      expect(changes.json.changed).toBe(true); // a cursor ahead of the server's (a restart) answers at once
      const { cursor } = (await s.call("GET", "/admin/changes", { admin: true })).json;
      const idle = await s.call("GET", `/admin/changes?since=${cursor}&wait=60`, { admin: true });
      expect(idle.ms).toBeGreaterThan(1900);
      expect(idle.ms).toBeLessThan(6000);
      expect(idle.json).toEqual({ cursor, changed: false, rooms: [] });
    } finally {
      await s.cleanup();
    }
  }, 20_000);

  test("a poll longer than Bun's default 10 s idle timeout is not cut", async () => {
    const s = await live({ ARGYBARGY_MAX_WAIT: "12" });
    try {
      const code = await s.invite("patient", "lab");
      const r = await s.call("GET", "/messages?wait=12", { code });
      expect(r.status).toBe(200);
      expect(r.ms).toBeGreaterThan(11_500);
    } finally {
      await s.cleanup();
    }
  }, 30_000);
});

describe("poll budget with the injected clock (SPEC §7.6)", () => {
  test("agent clock, room clock, seconds_left and should_exit", async () => {
    const t = newTestApp({ ARGYBARGY_MAX_IDLE_SECONDS: "60", ARGYBARGY_RATE_MAX: "0" });
    const alice = await t.invite("alice", "lab");
    const bob = await t.invite("bob", "lab");
    const budget = async () => (await alice.req("GET", "/messages?since=1000")).json;
    expect((await budget()).poll_budget).toEqual({
      waited_seconds: 0, room_quiet_seconds: 0, idle_seconds: 0, max_idle_seconds: 60, seconds_left: 60, should_exit: false, reason: null,
    });
    t.clock.advance(30_000);
    expect((await budget()).poll_budget).toMatchObject({ waited_seconds: 30, room_quiet_seconds: 0, idle_seconds: 30, seconds_left: 30 });
    t.clock.advance(31_000);
    const out = await budget();
    expect(out).toMatchObject({ should_exit: true, exit_reason: "idle_timeout", room_closed: false });
    expect(out.poll_budget).toMatchObject({ waited_seconds: 61, idle_seconds: 61, seconds_left: 0, reason: "idle_timeout" });
    // bob's message: alice's delivery restarts her clock; the room is no longer quiet.
    await bob.req("POST", "/messages", { text: "anyone there?" });
    const got = (await alice.req("GET", "/messages?since=0")).json;
    expect(got.poll_budget).toMatchObject({ waited_seconds: 0, room_quiet_seconds: 0, should_exit: false });
    t.clock.advance(45_000);
    expect((await budget()).poll_budget).toMatchObject({ waited_seconds: 45, room_quiet_seconds: 45, idle_seconds: 45, seconds_left: 15 });
    // Room quiet counts from the newest message, whoever sent it; the agent clock only from its own activity.
    await bob.req("POST", "/messages", { text: "to myself", to: "bob" });
    expect((await budget()).poll_budget).toMatchObject({ waited_seconds: 45, room_quiet_seconds: 0, idle_seconds: 45 });
    await alice.req("POST", "/messages", { text: "still here" });
    expect((await budget()).poll_budget).toMatchObject({ waited_seconds: 0, room_quiet_seconds: 0, seconds_left: 60 });
  });

  test("MAX_IDLE_SECONDS=0: seconds_left null, never idle_timeout; a closed room still says room_closed", async () => {
    const t = newTestApp({ ARGYBARGY_MAX_IDLE_SECONDS: "0" });
    const alice = await t.invite("alice", "lab");
    await alice.req("GET", "/messages");
    t.clock.advance(10 * 3600_000);
    const r = (await alice.req("GET", "/messages")).json;
    expect(r.poll_budget).toMatchObject({ max_idle_seconds: 0, seconds_left: null, should_exit: false, reason: null });
    expect(r.poll_budget.waited_seconds).toBeGreaterThanOrEqual(36_000);
    await t.admin("POST", "/admin/rooms/lab/close");
    expect((await alice.req("GET", "/messages")).json).toMatchObject({ should_exit: true, exit_reason: "room_closed", poll_budget: { seconds_left: null } });
  });

  test("presence is touched again when a long-poll answers", async () => {
    const t = newTestApp({ ARGYBARGY_MAX_WAIT: "1", ARGYBARGY_ONLINE_WINDOW: "60" });
    const alice = await t.invite("alice", "lab");
    const poll = alice.req("GET", "/messages?wait=1");
    await until(() => t.relay.waiters.count() === 1);
    t.clock.advance(100_000); // the request arrived "100 s ago"
    await poll;
    const peers = (await t.admin("GET", "/admin/state")).json.peers.lab;
    expect(peers).toEqual([{ name: "alice", online: true, seconds_since_seen: expect.any(Number) }]);
    expect(peers[0].seconds_since_seen).toBeLessThan(1);
  });
});

describe("per-agent cap on parked polls (ARGYBARGY_MAX_POLLS_PER_AGENT)", () => {
  const park = (t: ReturnType<typeof newTestApp>, code: string, signal: AbortSignal) =>
    t.app.handle(new Request("http://localhost/messages?since=0&wait=20", { headers: { authorization: `Bearer ${code}` }, signal }));

  test("the poll over the cap is answered at once with 429 too_many_polls; others of the room are not affected", async () => {
    const t = newTestApp({ ARGYBARGY_MAX_POLLS_PER_AGENT: "3" });
    const runaway = await t.invite("runaway", "cap");
    const calm = await t.invite("calm", "cap");
    const ctl = new AbortController();
    const parked = [0, 1, 2].map(() => park(t, runaway.code, ctl.signal));
    await until(() => t.relay.waiters.count() === 3);
    const over = await runaway.req("GET", "/messages?since=0&wait=20");
    expect(over.status).toBe(429);
    expect(over.json).toMatchObject({ error: "too_many_polls", retry_after: 1, max_polls: 3 });
    expect(over.headers.get("retry-after")).toBe("1");
    // An answer that does not park needs no slot, and another agent parks as usual.
    expect((await runaway.req("GET", "/messages?since=0&wait=0")).status).toBe(200);
    const calmPoll = park(t, calm.code, ctl.signal);
    await until(() => t.relay.waiters.count() === 4);
    expect((await t.admin("GET", "/admin/stats")).json).toMatchObject({ parked_polls: 4, polling_agents: 2 });
    ctl.abort();
    await Promise.allSettled([...parked, calmPoll]);
    await until(() => t.relay.waiters.count() === 0);
    expect(t.relay.pollSlots.agents).toBe(0);
    // The slots came back: the runaway may park again.
    const again = new AbortController();
    const next = park(t, runaway.code, again.signal);
    await until(() => t.relay.waiters.count() === 1);
    again.abort();
    await next.catch(() => {});
  });

  test("a woken poll gives its slot back; 0 turns the cap off", async () => {
    const t = newTestApp({ ARGYBARGY_MAX_POLLS_PER_AGENT: "1" });
    const a = await t.invite("a", "cap1");
    const poll = a.req("GET", "/messages?since=0&wait=20");
    await until(() => t.relay.pollSlots.heldBy("cap1\u0000a") === 1);
    expect((await t.admin("POST", "/admin/say", { room: "cap1", text: "wake" })).status).toBe(200);
    expect((await poll).status).toBe(200);
    expect(t.relay.pollSlots.heldBy("cap1\u0000a")).toBe(0);

    const off = newTestApp({ ARGYBARGY_MAX_POLLS_PER_AGENT: "0" });
    const b = await off.invite("b", "free");
    const ctl = new AbortController();
    const many = Array.from({ length: 50 }, () => park(off, b.code, ctl.signal));
    await until(() => off.relay.waiters.count() === 50);
    ctl.abort();
    await Promise.allSettled(many);
  });
});
