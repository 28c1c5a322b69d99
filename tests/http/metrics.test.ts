import { describe, expect, test } from "bun:test";
import { PromMetrics } from "../../src/http/metrics.ts";
import { ADMIN_TOKEN, newTestApp, TEST_STORE } from "../helpers.ts";
import { mcpRelay, toolJson } from "./mcp-helpers.ts";

/** One sample line of the exposition: name, labels and value. */
interface Sample { name: string; labels: Record<string, string>; value: number }

/**
 * A small parser of the Prometheus text format (0.0.4) that fails on anything malformed: every
 * line is a HELP, a TYPE or a sample; every sample belongs to a family with HELP and TYPE.
 */
function parseExposition(text: string): { samples: Sample[]; types: Map<string, string> } {
  const types = new Map<string, string>();
  const helps = new Set<string>();
  const samples: Sample[] = [];
  expect(text.endsWith("\n")).toBe(true);
  for (const line of text.split("\n")) {
    if (line === "") continue;
    const meta = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$/.exec(line);
    if (meta) {
      if (meta[1] === "HELP") helps.add(meta[2]!);
      else {
        expect(["counter", "gauge", "histogram", "summary", "untyped"]).toContain(meta[3]!);
        types.set(meta[2]!, meta[3]!);
      }
      continue;
    }
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (-?[0-9.e+-]+|[Nn]a[Nn]|[+-]Inf)$/i.exec(line);
    if (!m) throw new Error(`not a sample line: ${JSON.stringify(line)}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)",?/g)) labels[l[1]!] = l[2]!;
    samples.push({ name: m[1]!, labels, value: /nan/i.test(m[3]!) ? Number.NaN : Number(m[3]!.replace("Inf", "Infinity")) });
  }
  for (const s of samples) {
    const family = [...types.keys()].find((f) => s.name === f || (types.get(f) === "histogram" && /_(bucket|sum|count)$/.test(s.name) && s.name.replace(/_(bucket|sum|count)$/, "") === f));
    expect({ sample: s.name, family: family !== undefined && helps.has(family) }).toEqual({ sample: s.name, family: true });
  }
  return { samples, types };
}

/** The value of one sample (0 when absent: a counter not moved yet). */
function value(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  const hit = samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v) && Object.keys(s.labels).length === Object.keys(labels).length);
  return hit?.value ?? 0;
}

async function scrape(t: ReturnType<typeof newTestApp>) {
  // Elysia runs onAfterResponse (which counts HTTP requests) a turn after the answer.
  await new Promise((r) => setImmediate(r));
  const r = await t.req("GET", "/metrics", { headers: { "x-admin-token": ADMIN_TOKEN } });
  expect(r.status).toBe(200);
  expect(r.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8");
  return parseExposition(r.text).samples;
}

describe("GET /metrics", () => {
  test("parses as Prometheus text; every catalog metric is declared with its type", async () => {
    const t = newTestApp();
    const r = await t.req("GET", "/metrics", { headers: { "x-admin-token": ADMIN_TOKEN } });
    const { types } = parseExposition(r.text);
    expect(Object.fromEntries([...types].filter(([k]) => k.startsWith("argybargy_")))).toEqual({
      argybargy_messages_posted_total: "counter",
      argybargy_messages_delivered_total: "counter",
      argybargy_polls_parked: "gauge",
      argybargy_wake_latency_seconds: "histogram",
      argybargy_claims_total: "counter",
      argybargy_rate_limited_total: "counter",
      argybargy_auth_failed_total: "counter",
      argybargy_store_seconds: "histogram",
      argybargy_http_requests_total: "counter",
      argybargy_http_requests_in_flight: "gauge",
      argybargy_streams_open: "gauge",
      argybargy_mcp_tool_calls_total: "counter",
      argybargy_mcp_tool_seconds: "histogram",
    });
  });

  test("counters move with posts, polls, wake-ups, claims, rate limits, failed auth and requests", async () => {
    const t = newTestApp({ ARGYBARGY_RATE_MAX: "2", ARGYBARGY_RATE_WINDOW: "60" });
    const alice = await t.invite("alice", "lab");
    const bob = await t.invite("bob", "lab");
    const before = await scrape(t);
    expect(value(before, "argybargy_polls_parked")).toBe(0);

    expect((await alice.req("POST", "/messages", { text: "who takes this?", expects_reply: "anyone" })).status).toBe(200);
    expect((await t.admin("POST", "/admin/say", { room: "lab", text: "hello from the operator" })).status).toBe(200);
    expect((await bob.req("GET", "/messages?since=0")).json.messages).toHaveLength(2);

    // A parked poll shows in the gauge, and its wake-up lands in the latency histogram.
    const parked = bob.req("GET", "/messages?since=2&wait=20");
    for (let i = 0; i < 200 && t.relay.waiters.count() === 0; i++) await Bun.sleep(5);
    const whileParked = await scrape(t);
    expect(value(whileParked, "argybargy_polls_parked")).toBe(1);
    // In flight: the parked poll and the scrape itself.
    expect(value(whileParked, "argybargy_http_requests_in_flight")).toBe(2);
    expect((await alice.req("POST", "/messages", { text: "second" })).status).toBe(200);
    expect((await parked).json.messages.map((m: { text: string }) => m.text)).toEqual(["second"]);

    expect((await alice.req("POST", "/messages", { text: "third" })).status).toBe(429);
    expect((await alice.req("POST", "/messages/1/claim")).status).toBe(422);
    expect((await bob.req("POST", "/messages/1/claim")).status).toBe(200);
    const carol = await t.invite("carol", "lab");
    expect((await carol.req("POST", "/messages/1/claim")).status).toBe(409);
    expect((await carol.req("POST", "/messages/99/claim")).status).toBe(404);
    expect((await t.req("GET", "/whoami", { headers: { authorization: "Bearer not-a-code" } })).status).toBe(401);
    expect((await t.req("GET", "/admin/stats", { headers: { "x-admin-token": "wrong" } })).status).toBe(401);
    expect((await t.req("GET", "/no/such/path")).status).toBe(404);

    const after = await scrape(t);
    const moved = (name: string, labels: Record<string, string> = {}) => value(after, name, labels) - value(before, name, labels);
    expect({
      agentPosts: moved("argybargy_messages_posted_total", { origin: "agent", room: "lab" }),
      operatorPosts: moved("argybargy_messages_posted_total", { origin: "operator", room: "lab" }),
      delivered: moved("argybargy_messages_delivered_total", { room: "lab" }),
      wakeups: moved("argybargy_wake_latency_seconds_count"),
      won: moved("argybargy_claims_total", { outcome: "won" }),
      lost: moved("argybargy_claims_total", { outcome: "lost" }),
      notClaimable: moved("argybargy_claims_total", { outcome: "not_claimable" }),
      notFound: moved("argybargy_claims_total", { outcome: "not_found" }),
      ratePost: moved("argybargy_rate_limited_total", { scope: "post" }),
      authAgent: moved("argybargy_auth_failed_total", { kind: "agent" }),
      authAdmin: moved("argybargy_auth_failed_total", { kind: "admin" }),
      polls2xx: moved("argybargy_http_requests_total", { route: "/messages", status: "2xx" }),
      unmatched4xx: moved("argybargy_http_requests_total", { route: "unmatched", status: "4xx" }),
      parkedNow: value(after, "argybargy_polls_parked"),
      inFlightNow: value(after, "argybargy_http_requests_in_flight"),
    }).toEqual({
      agentPosts: 2, operatorPosts: 1, delivered: 3, wakeups: 1, won: 1, lost: 1, notClaimable: 1, notFound: 1,
      ratePost: 1, authAgent: 1, authAdmin: 1, polls2xx: 4, unmatched4xx: 1, parkedNow: 0, inFlightNow: 1,
    });
    // The wake-up took a positive time no longer than the test; buckets are cumulative up to +Inf = count.
    const sum = value(after, "argybargy_wake_latency_seconds_sum");
    expect(sum).toBeGreaterThan(0);
    expect(sum).toBeLessThan(10);
    const buckets = after.filter((s) => s.name === "argybargy_wake_latency_seconds_bucket").map((s) => s.value);
    expect(buckets).toEqual([...buckets].sort((a, b) => a - b));
    expect(buckets.at(-1)).toBe(value(after, "argybargy_wake_latency_seconds_count"));
    // On PostgreSQL the rate-limited post is refused by the insert itself (its slot is taken there).
    expect(value(after, "argybargy_store_seconds_count", { op: "insertMessage" })).toBe(TEST_STORE === "postgres" ? 4 : 3);
    expect(value(after, "argybargy_store_seconds_count", { op: "findCode" })).toBeGreaterThan(0);
    expect(t.errors).toEqual([]);
  });

  test("room labels are capped: rooms past ARGYBARGY_METRICS_ROOMS are counted as other", async () => {
    const t = newTestApp({ ARGYBARGY_METRICS_ROOMS: "2" });
    for (const room of ["r1", "r2", "r3", "r4", "r1"]) expect((await t.admin("POST", "/admin/say", { room, text: "x" })).status).toBe(200);
    const samples = await scrape(t);
    const posted = samples.filter((s) => s.name === "argybargy_messages_posted_total").map((s) => [s.labels.room, s.value]);
    expect(Object.fromEntries(posted)).toEqual({ r1: 2, r2: 1, other: 2 });
  });

  test("auth: admin token, or the metrics bearer token when configured; 401 envelope otherwise, counted", async () => {
    const plain = newTestApp();
    const code = (await plain.admin("POST", "/admin/invite", { name: "alice" })).json.code as string;
    const none = await plain.req("GET", "/metrics");
    expect({ status: none.status, error: none.json?.error }).toEqual({ status: 401, error: "unauthorized" });
    expect(none.json.message).toContain("X-Admin-Token");
    // Without ARGYBARGY_METRICS_TOKEN no bearer opens it: not an agent code, not the admin token.
    for (const bearer of [code, ADMIN_TOKEN, ""]) {
      expect((await plain.req("GET", "/metrics", { headers: { authorization: `Bearer ${bearer}` } })).status).toBe(401);
    }

    const token = "scrape-token-0123456789";
    const t = newTestApp({ ARGYBARGY_METRICS_TOKEN: token });
    const as = (headers: Record<string, string>) => t.req("GET", "/metrics", { headers });
    expect((await as({ authorization: `Bearer ${token}` })).status).toBe(200);
    expect((await as({ "x-admin-token": ADMIN_TOKEN })).status).toBe(200);
    for (const headers of <Record<string, string>[]>[{ authorization: `Bearer ${token}x` }, { authorization: `Bearer ${token.slice(0, -1)}` }, { "x-admin-token": token }]) {
      const r = await as(headers);
      expect({ headers, status: r.status, error: r.json?.error }).toEqual({ headers, status: 401, error: "unauthorized" });
      expect(r.text).not.toContain(token);
    }
    const samples = await scrape(t);
    expect(value(samples, "argybargy_auth_failed_total", { kind: "metrics" })).toBe(2);
    expect(value(samples, "argybargy_auth_failed_total", { kind: "admin" })).toBe(1);
  });
});

describe("transports in /metrics", () => {
  test("open SSE streams in the gauge; MCP tool calls by tool and outcome, with their durations", async () => {
    const r = await mcpRelay({ ARGYBARGY_RATE_MAX: "1", ARGYBARGY_RATE_WINDOW: "60" });
    try {
      const code = await r.invite("alice");
      const scrapeNow = async () => {
        const res = await fetch(`${r.url}/metrics`, { headers: { "x-admin-token": r.server.adminToken } });
        return parseExposition(await res.text()).samples;
      };
      const stream = new AbortController();
      const open = await fetch(`${r.url}/messages/stream`, { headers: { authorization: `Bearer ${code}` }, signal: stream.signal });
      expect(open.status).toBe(200);
      for (let i = 0; i < 200 && r.server.relay.streams.count() === 0; i++) await Bun.sleep(5);
      expect(value(await scrapeNow(), "argybargy_streams_open")).toBe(1);
      stream.abort();
      await open.body?.cancel().catch(() => {});

      const client = await r.connect(code);
      expect(toolJson(await client.callTool({ name: "send", arguments: { text: "hello" } })).isError).toBe(false);
      expect(toolJson(await client.callTool({ name: "send", arguments: { text: "again" } })).body.error).toBe("rate_limited");
      expect(toolJson(await client.callTool({ name: "whoami", arguments: {} })).isError).toBe(false);
      for (let i = 0; i < 200 && r.server.relay.streams.count() > 0; i++) await Bun.sleep(5);
      const samples = await scrapeNow();
      expect({
        sendOk: value(samples, "argybargy_mcp_tool_calls_total", { tool: "send", outcome: "ok" }),
        sendLimited: value(samples, "argybargy_mcp_tool_calls_total", { tool: "send", outcome: "rate_limited" }),
        whoami: value(samples, "argybargy_mcp_tool_calls_total", { tool: "whoami", outcome: "ok" }),
        sendTimed: value(samples, "argybargy_mcp_tool_seconds_count", { tool: "send" }),
        posted: value(samples, "argybargy_messages_posted_total", { origin: "agent", room: "lab" }),
        streams: value(samples, "argybargy_streams_open"),
      }).toEqual({ sendOk: 1, sendLimited: 1, whoami: 1, sendTimed: 2, posted: 1, streams: 0 });
    } finally {
      await r.stop();
    }
  }, 20_000);
});

describe("PromMetrics", () => {
  test("process metrics from prom-client, prefixed; histogram buckets in seconds", async () => {
    const m = new PromMetrics(5);
    m.observe("store_seconds", 0.0003, "readSince");
    m.observe("store_seconds", 3, "readSince");
    const { body } = await m.render();
    const { samples } = parseExposition(body);
    expect(value(samples, "argybargy_process_resident_memory_bytes")).toBeGreaterThan(1_000_000);
    expect(value(samples, "argybargy_store_seconds_bucket", { op: "readSince", le: "0.0005" })).toBe(1);
    expect(value(samples, "argybargy_store_seconds_bucket", { op: "readSince", le: "2.5" })).toBe(1);
    expect(value(samples, "argybargy_store_seconds_bucket", { op: "readSince", le: "+Inf" })).toBe(2);
    expect(value(samples, "argybargy_store_seconds_sum", { op: "readSince" })).toBeCloseTo(3.0003, 6);
  });
});
