import { describe, expect, test } from "bun:test";
import { startServer } from "../../src/cli/serve.ts";
import { ADMIN_TOKEN, newTestApp, tempDir, testConfig } from "../helpers.ts";

// SPEC §7.8 (failed-auth throttle and its audit row) and §7.14 (in-memory maps stay bounded).

const auditRows = async (t: ReturnType<typeof newTestApp>) =>
  (await t.admin("GET", "/admin/audit?limit=1000")).json.events.filter((e: any) => e.action === "admin_auth_failed").map((e: any) => e.detail);

describe("failed-auth throttle (in process: the peer is local, so CF-Connecting-IP keys it)", () => {
  test("after AUTH_FAIL_MAX failures the next failing request gets 429; valid credentials always pass", async () => {
    const t = newTestApp({ ARGYBARGY_AUTH_FAIL_MAX: "3" });
    const alice = await t.invite("alice", "lab");
    const badAgent = () => t.req("GET", "/whoami", { headers: { authorization: "Bearer wrong" } });
    const badAdmin = () => t.req("GET", "/admin/stats", { headers: { "x-admin-token": "wrong" } });
    expect((await badAdmin()).status).toBe(401);
    expect((await badAgent()).status).toBe(401);
    expect((await t.req("GET", "/whoami")).status).toBe(401); // missing credentials count too
    t.clock.advance(20_000);
    const limited = await badAdmin();
    expect(limited.status).toBe(429);
    expect(limited.json).toMatchObject({ error: "rate_limited", retry_after: 40 });
    expect(limited.headers.get("retry-after")).toBe("40");
    expect((await badAgent()).json).toMatchObject({ error: "rate_limited" });
    // Routing and public routes come before credentials, throttled or not.
    expect((await t.req("GET", "/nope")).status).toBe(404);
    expect((await t.req("PUT", "/whoami")).status).toBe(405);
    expect((await t.req("GET", "/health")).status).toBe(200);
    // An unauthenticated bad body is still refused for its credentials: 429 here, never 422.
    expect((await t.req("POST", "/messages", { body: "{" })).status).toBe(429);
    // Valid credentials from the same address are never refused.
    expect((await alice.req("GET", "/whoami")).status).toBe(200);
    expect((await t.admin("GET", "/admin/stats")).status).toBe(200);
    // One audit row for the window, counting admin failures only (2 of the 5).
    expect(await auditRows(t)).toEqual(["ip=local count=2"]);
    // The window is fixed at 60 s from the first failure: then it starts over.
    t.clock.advance(40_001);
    expect((await badAdmin()).status).toBe(401);
    expect(await auditRows(t)).toEqual(["ip=local count=2", "ip=local count=1"]);
    expect(t.errors).toEqual([]);
  });

  test("AUTH_FAIL_MAX=0 never answers 429 but still writes one row per window", async () => {
    const t = newTestApp({ ARGYBARGY_AUTH_FAIL_MAX: "0" });
    for (let i = 0; i < 30; i++) {
      const r = await t.req("POST", "/admin/say", { headers: { "x-admin-token": `wrong-${i}` }, body: { text: "x" } });
      expect(r.status).toBe(401);
    }
    expect(await auditRows(t)).toEqual(["ip=local count=30"]);
    expect((await t.admin("GET", "/admin/stats")).json.messages).toBe(0);
  });

  test("a loopback peer carrying CF-Connecting-IP is keyed by that header", async () => {
    const t = newTestApp({ ARGYBARGY_AUTH_FAIL_MAX: "2" });
    const from = (ip: string, token = "wrong") => t.req("GET", "/admin/stats", { headers: { "x-admin-token": token, "cf-connecting-ip": ip } });
    expect((await from("203.0.113.7")).status).toBe(401);
    expect((await from("203.0.113.7")).status).toBe(401);
    expect((await from("203.0.113.7")).status).toBe(429);
    expect((await from("198.51.100.2")).status).toBe(401); // a different client behind the tunnel
    expect((await from("203.0.113.7", ADMIN_TOKEN)).status).toBe(200);
    expect(await auditRows(t)).toEqual(["ip=203.0.113.7 count=3", "ip=198.51.100.2 count=1"]);
  });
});

test("on a real socket the key is the peer address", async () => {
  const dir = tempDir();
  const server = await startServer(testConfig({ ARGYBARGY_PORT: "0", ARGYBARGY_LOG_LEVEL: "error", ARGYBARGY_AUTH_FAIL_MAX: "2" }, dir.path));
  try {
    const get = (path: string, headers: Record<string, string>) => fetch(`${server.url}${path}`, { headers });
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) statuses.push((await get("/admin/stats", { "x-admin-token": "nope" })).status);
    expect(statuses).toEqual([401, 401, 429]);
    const limited = await get("/whoami", {});
    expect(limited.status).toBe(429);
    const retry = Number(limited.headers.get("retry-after"));
    expect(retry).toBeGreaterThanOrEqual(59);
    expect(retry).toBeLessThanOrEqual(60);
    expect((await get("/admin/stats", { "x-admin-token": server.adminToken })).status).toBe(200);
    // A tunnel client (loopback peer + CF-Connecting-IP) has its own window.
    expect((await get("/admin/stats", { "x-admin-token": "nope", "cf-connecting-ip": "192.0.2.44" })).status).toBe(401);
    const audit = (await (await get("/admin/audit", { "x-admin-token": server.adminToken })).json()) as { events: { action: string; detail: string }[] };
    const rows = audit.events.filter((e) => e.action === "admin_auth_failed").map((e) => e.detail);
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatch(/^ip=(127\.0\.0\.1|::ffff:127\.0\.0\.1) count=3$/);
    expect(rows[1]).toBe("ip=192.0.2.44 count=1");
  } finally {
    await server.stop();
    dir.cleanup();
  }
});

test("memory bounds: a day later the sweep empties presence, agent clocks, rate logs and the throttle table", async () => {
  const t = newTestApp({ ARGYBARGY_RATE_MAX: "5", ARGYBARGY_AUTH_FAIL_MAX: "3" });
  for (let i = 0; i < 20; i++) {
    const agent = await t.invite(`agent-${i}`, `room-${i % 4}`);
    await agent.req("GET", "/messages");
    await agent.req("POST", "/messages", { text: "hi" });
  }
  await t.admin("POST", "/admin/say", { room: "room-0", text: "operator", sender: "operator" });
  for (let i = 0; i < 5; i++) await t.req("GET", "/whoami", { headers: { "cf-connecting-ip": `192.0.2.${i}` } });
  expect(t.relay.presence.sizes()).toEqual({ presence: 21, clocks: 20 });
  // Shared (PostgreSQL): rate logs and failure windows live in the database, so none in memory.
  const shared = t.relay.shared !== undefined;
  expect(t.relay.rate.size()).toBe(shared ? 0 : 20);
  expect(t.relay.throttle.size()).toBe(shared ? 0 : 5);
  // After the windows pass, rate logs and throttle entries go; presence stays for 24 h.
  t.clock.advance(61_000);
  t.relay.sweep();
  expect(t.relay.rate.size()).toBe(0);
  expect(t.relay.throttle.size()).toBe(0);
  expect(t.relay.presence.sizes()).toEqual({ presence: 21, clocks: 20 });
  const state = (await t.admin("GET", "/admin/state")).json;
  expect(Object.values(state.peers).flat().every((p: any) => p.online === false)).toBe(true);
  t.clock.advance(25 * 3600_000);
  t.relay.sweep();
  expect(t.relay.presence.sizes()).toEqual({ presence: 0, clocks: 0 });
  expect((await t.admin("GET", "/admin/state")).json.peers).toEqual({});
  // A later request counts as a new connect.
  const again = await t.invite("late", "room-0");
  await again.req("GET", "/whoami");
  expect(t.relay.presence.sizes()).toEqual({ presence: 1, clocks: 0 });
  const connects = (await t.admin("GET", "/admin/audit?limit=1000")).json.events.filter((e: any) => e.action === "connect" && e.room === "room-0");
  expect(connects.map((e: any) => e.actor)).toEqual(["agent-0", "agent-4", "agent-8", "agent-12", "agent-16", "late"]);
});

test("behind a load balancer (ARGYBARGY_TRUST_PROXY=1) the throttle keys on the last X-Forwarded-For entry, which a client cannot forge", async () => {
  const t = newTestApp({ ARGYBARGY_TRUST_PROXY: "1", ARGYBARGY_AUTH_FAIL_MAX: "2" });
  const from = (xff: string) => t.req("GET", "/whoami", { headers: { authorization: "Bearer wrong-code", "x-forwarded-for": xff } });
  expect([(await from("1.1.1.1, 203.0.113.1")).status, (await from("2.2.2.2, 203.0.113.1")).status, (await from("203.0.113.1")).status]).toEqual([401, 401, 429]);
  // Another client of the balancer, even one claiming the throttled address first, is not throttled.
  expect((await from("203.0.113.1, 203.0.113.2")).status).toBe(401);
  // Without the setting the header is ignored: everything comes from the one (local) peer.
  const plain = newTestApp({ ARGYBARGY_AUTH_FAIL_MAX: "2" });
  const statuses = [];
  for (const xff of ["198.51.100.1", "198.51.100.2", "198.51.100.3"]) {
    statuses.push((await plain.req("GET", "/whoami", { headers: { authorization: "Bearer wrong-code", "x-forwarded-for": xff } })).status);
  }
  expect(statuses).toEqual([401, 401, 429]);
});
