import { afterAll, beforeAll, expect, test } from "bun:test";
import { listen, rawStream, streamServer, until } from "./sse.ts";

// GET /messages/stream on a real server, read by the npm `eventsource` client (issue 8).

let s: Awaited<ReturnType<typeof streamServer>>;
beforeAll(async () => {
  s = await streamServer();
});
afterAll(async () => {
  await s.close();
});

const seqs = (xs: { seq: number }[]) => xs.map((m) => m.seq);

test("posts arrive live as `message` events with id = seq and the poll's message object", async () => {
  const [alice, bob] = [await s.invite("alice", "live"), await s.invite("bob", "live")];
  const a = listen(s.url, alice);
  try {
    await until(() => a.opened() === 1, "the stream to open");
    const sent = await s.post(bob, { text: "hi alice, line one\nline two", expects_reply: "anyone" });
    await until(() => a.messages().length === 1, "the message");
    const e = a.events[0]!;
    expect(e.type).toBe("message");
    expect(e.id).toBe(String(sent.seq));
    const poll = await (await fetch(`${s.url}/messages?since=0`, { headers: { authorization: `Bearer ${alice}` } })).json() as any;
    expect(e.data).toEqual(poll.messages[0]);
    // Two members: "anyone" resolves to the other one, as on the poll.
    expect(e.data).toMatchObject({ from: "bob", to: "all", text: "hi alice, line one\nline two", expects_reply: "anyone", expects_reply_resolved: "alice" });
  } finally {
    a.close();
  }
});

test("visibility: own messages and DMs between others are never sent; a DM to me is", async () => {
  const room = "vis";
  const [amy, ben, cat] = [await s.invite("amy", room), await s.invite("ben", room), await s.invite("cat", room)];
  const a = listen(s.url, amy);
  try {
    await until(() => a.opened() === 1, "open");
    await s.post(amy, { text: "mine" });
    await s.post(ben, { text: "ben to cat", to: "cat" });
    await s.post(cat, { text: "cat to amy", to: "amy" });
    await s.post(ben, { text: "ben to all" });
    await until(() => a.messages().length === 2, "two messages");
    await Bun.sleep(100);
    expect(a.messages().map((m) => m.text)).toEqual(["cat to amy", "ben to all"]);
    void cat;
  } finally {
    a.close();
  }
});

test("?since= starts after that seq; Last-Event-ID wins over it; neither replays from 0", async () => {
  const room = "since";
  const [dan, eve] = [await s.invite("dan", room), await s.invite("eve", room)];
  for (let i = 1; i <= 5; i++) await s.post(eve, { text: `m${i}` });
  const fromSince = listen(s.url, dan, "?since=3");
  const fromZero = listen(s.url, dan);
  const header = await rawStream(s.url, dan, { query: "?since=1", headers: { "last-event-id": "4" } });
  try {
    await until(() => fromSince.messages().length === 2 && fromZero.messages().length === 5 && header.text().includes("id: 5"), "replays");
    expect(seqs(fromSince.messages())).toEqual([4, 5]);
    expect(seqs(fromZero.messages())).toEqual([1, 2, 3, 4, 5]);
    expect(header.text()).not.toContain("id: 2\n");
    expect(header.text().match(/^id: \d+$/gm)).toEqual(["id: 5"]);
  } finally {
    fromSince.close();
    fromZero.close();
    header.abort();
  }
});

test("resume: the server drops every stream again and again while posts keep coming; eventsource reconnects with Last-Event-ID and loses or repeats nothing", async () => {
  const room = "resume";
  const [fay, gus] = [await s.invite("fay", room), await s.invite("gus", room)];
  const f = listen(s.url, fay);
  let total = 0;
  try {
    await until(() => f.opened() === 1, "open");
    // Keep posting; each time the client is connected and has had 10 posts, the server ends
    // the stream (as on eviction or a restart), three times; the retry delay is 2 s each.
    let drops = 0;
    let sinceOpen = 0;
    let seenOpens = 1;
    while (drops < 3) {
      await s.post(gus, { text: `n${++total}` });
      if (f.opened() !== seenOpens) {
        seenOpens = f.opened();
        sinceOpen = 0;
      }
      if (++sinceOpen === 10 && drops < 3 && s.relay.streams.count("resume\u0000fay") === 1) {
        s.relay.streams.abortAll();
        drops++;
      }
      await Bun.sleep(10);
    }
    // Posted while the client is away after the last drop: it must arrive on the reconnect.
    await s.post(gus, { text: `n${++total}` });
    await until(() => f.opened() === 4, "the third reconnect", 10_000);
    await until(() => f.messages().length >= total, `all ${total} messages`, 20_000);
    await Bun.sleep(200);
    expect(seqs(f.messages())).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    expect(f.opened()).toBe(4);
    // Each reconnect said where it was: the id of the last event it had.
    const resumed = f.requests.slice(1).map((h) => h.get("last-event-id"));
    expect(resumed.length).toBe(3);
    for (const id of resumed) expect(Number(id)).toBeGreaterThan(0);
  } finally {
    f.close();
  }
}, 30_000);

test("close sends a `room` event with should_exit and keeps the stream; reopen sends another; connecting to a closed room sends one at once", async () => {
  const room = "shut";
  const [hal, ivy] = [await s.invite("hal", room), await s.invite("ivy", room)];
  await s.post(ivy, { text: "before" });
  const h = listen(s.url, hal);
  try {
    await until(() => h.messages().length === 1, "backlog");
    expect(h.events.filter((e) => e.type === "room")).toEqual([]); // an open room says nothing
    await s.admin("POST", `/admin/rooms/${room}/close`, { by: "ops" });
    await until(() => h.events.some((e) => e.type === "room"), "the close event");
    const closed = h.events.find((e) => e.type === "room")!.data;
    expect(closed).toMatchObject({ room, status: "closed", closed_by: "ops", should_exit: true, exit_reason: "room_closed" });
    expect(closed.closed_at).toMatch(/Z$/);

    // Late arrivals: a new stream gets the backlog, then the closed room's advice.
    const late = listen(s.url, hal);
    await until(() => late.events.length === 2, "late events");
    expect(late.events.map((e) => e.type)).toEqual(["message", "room"]);
    expect(late.events[1]!.data.should_exit).toBe(true);
    late.close();

    // The operator still speaks in a closed room, and the stream still delivers it.
    await s.admin("POST", "/admin/say", { room, text: "closing words" });
    await until(() => h.messages().length === 2, "the operator's message");
    await s.admin("POST", `/admin/rooms/${room}/reopen`, {});
    await until(() => h.events.filter((e) => e.type === "room").length === 2, "the reopen event");
    expect(h.events.at(-1)!.data).toEqual({ room, status: "open", closed_at: null, closed_by: null, should_exit: false, exit_reason: null });
    expect(h.opened()).toBe(1); // the same connection throughout
  } finally {
    h.close();
  }
});

test("401 envelope without or with a bad code (eventsource stops for good); 422 for a bad since or Last-Event-ID", async () => {
  for (const code of [null, "not-a-code"]) {
    const r = await rawStream(s.url, code);
    expect(r.res.status).toBe(401);
    expect(r.res.headers.get("content-type")).toContain("application/json");
    await r.reading;
    expect(JSON.parse(r.text()).error).toBe("unauthorized");
  }
  const bad = listen(s.url, "not-a-code");
  await until(() => bad.es.readyState === 2, "eventsource to give up");
  expect(bad.requests.length).toBe(1);

  const jay = await s.invite("jay", "bad");
  for (const [query, headers, field] of [
    ["?since=-1", {}, "since"], ["?since=abc", {}, "since"], ["?since=1.5", {}, "since"], ["?since=99999999999999999", {}, "since"],
    ["", { "last-event-id": "x7" }, "Last-Event-ID"], ["", { "last-event-id": "-3" }, "Last-Event-ID"],
  ] as const) {
    const r = await rawStream(s.url, jay, { query, headers });
    await r.reading;
    expect([query, r.res.status]).toEqual([query, 422]);
    expect(JSON.parse(r.text())).toMatchObject({ error: "invalid", field });
  }
});

test("headers: event-stream, no-cache, the security headers, and the retry line first", async () => {
  const kim = await s.invite("kim", "hdr");
  const r = await rawStream(s.url, kim);
  try {
    expect(r.res.status).toBe(200);
    expect(r.res.headers.get("content-type")).toBe("text/event-stream; charset=utf-8");
    expect(r.res.headers.get("cache-control")).toBe("no-cache");
    expect(r.res.headers.get("x-content-type-options")).toBe("nosniff");
    expect(r.res.headers.get("referrer-policy")).toBe("no-referrer");
    expect(r.res.headers.get("x-frame-options")).toBe("DENY");
    await until(() => r.text().length > 0, "the first chunk");
    expect(r.text()).toStartWith("retry: 2000\n:");
  } finally {
    r.abort();
  }
});

test("a client that disconnects frees its waiter and its slot at once", async () => {
  const lee = await s.invite("lee", "gone");
  const key = "gone\u0000lee";
  const before = s.relay.waiters.count();
  const r = await rawStream(s.url, lee);
  await until(() => s.relay.waiters.count() === before + 1 && s.relay.streams.count(key) === 1, "the stream to park");
  r.abort();
  await until(() => s.relay.waiters.count() === before && s.relay.streams.count(key) === 0, "the waiter to go", 2000);
});

test("per-agent cap: the third stream of an agent closes its oldest; other agents are not touched", async () => {
  const t = await streamServer({ ARGYBARGY_MAX_STREAMS_PER_AGENT: "2" });
  try {
    const [max, ned] = [await t.invite("max", "cap"), await t.invite("ned", "cap")];
    const other = await rawStream(t.url, ned);
    const first = await rawStream(t.url, max);
    const second = await rawStream(t.url, max);
    await until(() => t.relay.streams.count("cap\u0000max") === 2, "two streams");
    expect(first.ended()).toBe(false);
    const third = await rawStream(t.url, max);
    await until(() => first.ended(), "the oldest to be closed");
    await t.post(ned, { text: "still there?" });
    await until(() => second.text().includes("still there?") && third.text().includes("still there?"), "the two newest to get it");
    expect(second.ended() || third.ended() || other.ended()).toBe(false);
    expect(t.relay.streams.count("cap\u0000max")).toBe(2);
    for (const r of [other, second, third]) r.abort();
  } finally {
    await t.close();
  }
});

test("heartbeat: a quiet stream gets `: ping` comments at the configured interval", async () => {
  const t = await streamServer({ ARGYBARGY_STREAM_HEARTBEAT: "0.1" });
  try {
    const r = await rawStream(t.url, await t.invite("ola", "quiet"));
    await until(() => (r.text().match(/^: ping$/gm) ?? []).length >= 3, "three pings");
    r.abort();
  } finally {
    await t.close();
  }
});

test("shutdown ends open streams promptly, so stop() finishes well within the grace", async () => {
  const t = await streamServer();
  const codes = await Promise.all(["pat", "quinn", "ray"].map((n) => t.invite(n, "stop")));
  const streams = await Promise.all(codes.map((c) => rawStream(t.url, c)));
  await until(() => t.relay.streams.count() === 3, "three streams");
  const started = performance.now();
  await t.close();
  expect(performance.now() - started).toBeLessThan(3000);
  await until(() => streams.every((r) => r.ended()), "every stream to end", 2000);
  expect(t.relay.waiters.count()).toBe(0);
});

test("failed-auth throttle: stream attempts with bad codes count, and past the limit get 429 with Retry-After", async () => {
  const t = await streamServer({ ARGYBARGY_AUTH_FAIL_MAX: "2" });
  try {
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await rawStream(t.url, "wrong-code");
      await r.reading;
      statuses.push(r.res.status);
      if (r.res.status === 429) {
        expect(JSON.parse(r.text())).toMatchObject({ error: "rate_limited" });
        expect(Number(r.res.headers.get("retry-after"))).toBeGreaterThan(0);
      }
    }
    expect(statuses).toEqual([401, 401, 429]);
    // A valid code is never refused by the throttle.
    const ok = await rawStream(t.url, await t.invite("uma", "thr"));
    expect(ok.res.status).toBe(200);
    ok.abort();
  } finally {
    await t.close();
  }
});

test("HEAD answers the stream's headers without opening one; other methods are 405", async () => {
  const vic = await s.invite("vic", "head");
  const head = await fetch(`${s.url}/messages/stream`, { method: "HEAD", headers: { authorization: `Bearer ${vic}` } });
  expect(head.status).toBe(200);
  expect(head.headers.get("content-type")).toBe("text/event-stream; charset=utf-8");
  expect(s.relay.streams.count("head\u0000vic")).toBe(0);
  const post = await fetch(`${s.url}/messages/stream`, { method: "POST", headers: { authorization: `Bearer ${vic}` } });
  expect(post.status).toBe(405);
  expect(post.headers.get("allow")).toBe("GET, HEAD");
});

test("a code revoked (or expired) while its stream is open stops receiving: the stream ends at the next check and the reconnect is 401", async () => {
  const t = await streamServer({ ARGYBARGY_STREAM_HEARTBEAT: "0.2" });
  try {
    const [wes, xia] = [await t.invite("wes", "rev"), await t.invite("xia", "rev")];
    const w = listen(t.url, wes);
    // Busy room: posts every 20 ms keep waking the stream, which must not postpone the check.
    let posting = true;
    let sent = 0;
    const poster = (async () => {
      while (posting) {
        await t.post(xia, { text: `tick ${++sent}` });
        await Bun.sleep(20);
      }
    })();
    await until(() => w.messages().length >= 3, "messages before the revocation");
    await t.admin("POST", "/admin/revoke", { target: "wes", room: "rev" });
    const revokedAt = sent;
    await until(() => w.es.readyState === 2, "eventsource to stop after a 401", 10_000);
    posting = false;
    await poster;
    // At most about one check interval of posts reached it after the revocation.
    const late = w.messages().filter((m) => Number(m.text.slice(5)) > revokedAt + 1).length;
    expect(late).toBeLessThan(25);
    expect(w.requests.length).toBe(2); // the first stream, then one reconnect that got 401
    expect(t.relay.streams.count()).toBe(0);
  } finally {
    await t.close();
  }
}, 20_000);
