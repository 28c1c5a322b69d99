import { describe, expect, test } from "bun:test";
import { newTestApp } from "../helpers.ts";

// SPEC §1.4, §5.1–§5.4, §5.9, §5.10, §9.3: manifest, identity, peers, CORS, headers, docs.

const SECURITY = { "x-content-type-options": "nosniff", "referrer-policy": "no-referrer", "x-frame-options": "DENY" };
const JSON_CSP = "default-src 'none'; frame-ancestors 'none'";
const DASHBOARD_CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
const DOCS_CSP = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
const headersOf = (h: Headers, names: string[]) => Object.fromEntries(names.map((n) => [n, h.get(n)]));

describe("GET / manifest (SPEC §5.1)", () => {
  const env = {
    ARGYBARGY_MAX_WAIT: "7", ARGYBARGY_MAX_TEXT: "123", ARGYBARGY_RATE_MAX: "4", ARGYBARGY_RATE_WINDOW: "9",
    ARGYBARGY_MAX_IDLE_SECONDS: "77",
  };

  test("quotes the configured numbers, never a literal default", async () => {
    const t = newTestApp(env);
    const r = await t.req("GET", "/", { headers: { "x-forwarded-proto": "https", "x-forwarded-host": "relay.example.test" } });
    expect(r.status).toBe(200);
    const m = r.json;
    expect(m.name).toBe("Argybargy Bridge");
    expect(m.version).toBe("1.1.0");
    expect(typeof m.what).toBe("string");
    expect(m.auth.header).toBe("Authorization: Bearer <YOUR_CODE>");
    expect(typeof m.auth.how).toBe("string");
    expect(m.first_steps).toHaveLength(5);
    expect(m.first_steps[3]).toContain("wait=7");
    expect(m.endpoints.map((e: any) => `${e.method} ${e.path}`)).toEqual([
      "GET /health", "GET /whoami", "GET /peers", "POST /messages", "GET /messages?since=<cursor>&wait=<0-7>",
      "GET /messages/stream?since=<cursor>", "POST /messages/ack", "POST /messages/{seq}/claim", "POST /messages/{seq}/claim/renew",
      "POST /messages/{seq}/claim/release", "GET /messages/{seq}/receipts", "GET /history?limit=50&thread=<seq>", "POST /mcp", "GET /llms.txt",
    ]);
    expect(m.endpoints.map((e: any) => e.auth)).toEqual([false, true, true, true, true, true, true, true, true, true, true, true, true, false]);
    expect(m.response_rule.join(" ")).toContain("reply_to");
    for (const key of ["Last-Event-ID", "event message", "event room", "should_exit"]) expect(m.endpoints[5].desc).toContain(key);
    expect(m.mcp.endpoint).toBe("https://relay.example.test/mcp");
    expect(m.mcp.tools.join(" ")).toContain("up to 7 s");
    expect(m.mcp.setup.claude_code).toBe('claude mcp add --transport http argybargy https://relay.example.test/mcp --header "Authorization: Bearer <YOUR_CODE>"');
    expect(m.mcp.setup.codex_toml).toContain("[mcp_servers.argybargy]");
    expect(JSON.parse(m.mcp.setup.gemini_settings_json).mcpServers.argybargy.httpUrl).toBe("https://relay.example.test/mcp");
    expect(m.endpoints[3].body).toBeDefined();
    for (const key of ["messages", "cursor", "room", "room_closed", "should_exit", "exit_reason", "poll_budget"]) expect(m.endpoints[4].desc).toContain(key);
    expect(Array.isArray(m.response_rule)).toBe(true);
    expect(m.room_lifecycle.join(" ")).toContain("77 seconds");
    for (const key of ["send", "ask_open", "claim", "listen", "stream"]) {
      expect(m.examples[key]).toContain("https://relay.example.test/");
      expect(m.examples[key]).toContain("<CODE>");
    }
    expect(m.examples.claim).toContain("/messages/7/claim");
    expect(m.examples.listen).toContain("wait=7");
    expect(m.examples.listen).toContain("--max-time 12");
    expect(m.examples.stream).toStartWith("curl -sN ");
    expect(m.examples.stream).toContain("/messages/stream?since=0");
    const notes = m.notes.join(" ");
    for (const n of ["123", "7", "4", "9"]) expect(notes).toContain(n);
    // Nothing quotes a default: MAX_WAIT 25, MAX_TEXT 8000, MAX_IDLE 1800, RATE 10.
    for (const literal of ["25", "8000", "1800", "10 "]) expect({ literal, found: r.text.includes(literal) }).toEqual({ literal, found: false });
  });

  test("GET /llms.txt is the same manifest as plain text, public, every section and endpoint in it", async () => {
    const t = newTestApp(env);
    const m = (await t.req("GET", "/")).json;
    const r = await t.req("GET", "/llms.txt", { headers: { authorization: "Bearer nonsense" } });
    expect(r.status).toBe(200);
    expect(r.headers.get("content-type")).toBe("text/plain; charset=utf-8");
    expect(r.headers.get("x-content-type-options")).toBe("nosniff");
    expect(r.text.startsWith("# Argybargy Bridge 1.1.0\n")).toBe(true);
    for (const key of Object.keys(m).filter((k) => !["name", "version", "what"].includes(k))) expect(r.text).toContain(`## ${key.replaceAll("_", " ")}`);
    for (const e of m.endpoints) expect(r.text).toContain(`${e.method} ${e.path}`);
    for (const line of [...m.response_rule, ...m.notes, m.mcp.setup.claude_code, m.examples.listen]) expect(r.text).toContain(line);
    expect(r.text).toContain("    [mcp_servers.argybargy]\n");
  });

  test("says when the rate limit and idle valve are disabled; base URL from Host without forwarding", async () => {
    const t = newTestApp({ ARGYBARGY_RATE_MAX: "0", ARGYBARGY_MAX_IDLE_SECONDS: "0" });
    const r = await t.req("GET", "/", { headers: { host: "plain.example.test:8080" } });
    expect(r.json.notes.join(" ").toLowerCase()).toContain("no rate limit");
    expect(r.json.room_lifecycle.join(" ")).toContain("disabled");
    expect(r.json.examples.send).toContain("http://plain.example.test:8080/messages");
  });
});

describe("identity and presence", () => {
  test("/health is exact and ignores credentials; /whoami is exactly name, room, capabilities", async () => {
    const t = newTestApp();
    for (const headers of [{}, { authorization: "Bearer nonsense" }, { "x-admin-token": "nonsense" }] as Record<string, string>[]) {
      const r = await t.req("GET", "/health", { headers });
      expect({ status: r.status, body: r.json }).toEqual({ status: 200, body: { status: "ok", version: "1.1.0" } });
    }
    const alice = await t.invite("alice", "lab", { capabilities: "reviews TypeScript" });
    const bob = await t.invite("bob");
    expect((await alice.req("GET", "/whoami")).json).toEqual({ name: "alice", room: "lab", capabilities: "reviews TypeScript" });
    expect((await bob.req("GET", "/whoami")).json).toEqual({ name: "bob", room: "default", capabilities: "" });
  });

  test("HEAD works wherever GET does (uptime monitors): same status and headers, no body; still guarded", async () => {
    const t = newTestApp();
    const head = await t.req("HEAD", "/health");
    expect(head.status).toBe(200);
    expect(head.text).toBe("");
    expect(head.headers.get("x-content-type-options")).toBe("nosniff");
    expect((await t.req("HEAD", "/whoami")).status).toBe(401);
    const alice = await t.invite("alice");
    expect((await t.req("HEAD", "/whoami", { headers: { authorization: `Bearer ${alice.code}` } })).status).toBe(200);
    expect((await t.req("HEAD", "/admin/say")).status).toBe(405);
  });

  test("/peers: presence only, own room, sorted, online window, capabilities", async () => {
    const t = newTestApp({ ARGYBARGY_ONLINE_WINDOW: "30" });
    const zed = await t.invite("zed", "lab", { capabilities: "z-things" });
    const alice = await t.invite("alice", "lab", { capabilities: "a-things" });
    await t.invite("never", "lab"); // holds a code, never calls in
    const olga = await t.invite("olga", "other");
    await olga.req("GET", "/whoami");
    await zed.req("GET", "/whoami");
    t.clock.advance(31_000);
    await t.admin("POST", "/admin/say", { room: "lab", text: "hello", sender: "operator" });
    const r = await alice.req("GET", "/peers");
    expect(Object.keys(r.json).sort()).toEqual(["peers", "room"]);
    expect(r.json.room).toBe("lab");
    const peers = r.json.peers;
    expect(peers.map((p: any) => p.name)).toEqual(["alice", "operator", "zed"]);
    for (const p of peers) expect(Object.keys(p).sort()).toEqual(["capabilities", "name", "online", "seconds_since_seen"]);
    const byName = Object.fromEntries(peers.map((p: any) => [p.name, p]));
    expect(byName.alice).toMatchObject({ online: true, capabilities: "a-things" });
    expect(byName.alice.seconds_since_seen).toBeLessThan(1);
    expect(byName.operator).toMatchObject({ online: true, capabilities: "" });
    expect(byName.zed).toMatchObject({ online: false, capabilities: "z-things" });
    expect(byName.zed.seconds_since_seen).toBeGreaterThanOrEqual(31);
    expect(byName.zed.seconds_since_seen).toBeLessThan(33);
    // Unaffected by closing the room.
    await t.admin("POST", "/admin/rooms/lab/close");
    expect((await alice.req("GET", "/peers")).json.peers.map((p: any) => p.name)).toEqual(["alice", "operator", "zed"]);
    expect((await olga.req("GET", "/peers")).json).toMatchObject({ room: "other", peers: [{ name: "olga" }] });
  });
});

test("/peers: online is inclusive of ONLINE_WINDOW", async () => {
  const t = newTestApp({ ARGYBARGY_ONLINE_WINDOW: "60" });
  const frozen = Date.now();
  t.clock.now = () => frozen + t.clock.offsetMs;
  const alice = await t.invite("alice", "lab");
  const bob = await t.invite("bob", "lab");
  await alice.req("GET", "/whoami");
  t.clock.advance(60_000);
  expect((await bob.req("GET", "/peers")).json.peers[0]).toEqual({ name: "alice", online: true, seconds_since_seen: 60, capabilities: "" });
  t.clock.advance(100);
  expect((await bob.req("GET", "/peers")).json.peers[0]).toMatchObject({ name: "alice", online: false, seconds_since_seen: 60.1 });
});

describe("CORS (SPEC §1.4)", () => {
  const origins = { ARGYBARGY_CORS_ORIGINS: " https://a.example.test , https://b.example.test,," };

  test("a listed origin gets Allow-Origin and Vary on every answer, errors included", async () => {
    const t = newTestApp(origins);
    const alice = await t.invite("alice");
    for (const [path, headers, status] of [
      ["/health", {}, 200], ["/whoami", { authorization: `Bearer ${alice.code}` }, 200], ["/whoami", {}, 401], ["/nope", {}, 404],
    ] as [string, Record<string, string>, number][]) {
      const r = await t.req("GET", path, { headers: { origin: "https://b.example.test", ...headers } });
      expect<unknown>({ path, status: r.status, ...headersOf(r.headers, ["access-control-allow-origin", "vary", "access-control-allow-credentials"]) })
        .toEqual({ path, status, "access-control-allow-origin": "https://b.example.test", vary: "Origin", "access-control-allow-credentials": null });
    }
    const unlisted = await t.req("GET", "/health", { headers: { origin: "https://evil.example.test" } });
    expect(unlisted.headers.get("access-control-allow-origin")).toBeNull();
  });

  test("preflights answer 204 without credentials; unlisted origins get no CORS headers", async () => {
    const t = newTestApp(origins);
    const pre = (origin: string, path = "/messages") => t.req("OPTIONS", path, { headers: { origin, "access-control-request-method": "POST", "access-control-request-headers": "authorization" } });
    const listed = await pre("https://a.example.test");
    expect(listed.status).toBe(204);
    expect(headersOf(listed.headers, ["access-control-allow-origin", "access-control-allow-methods", "access-control-allow-headers", "access-control-max-age", "vary"])).toEqual({
      "access-control-allow-origin": "https://a.example.test",
      "access-control-allow-methods": "GET, POST, OPTIONS",
      "access-control-allow-headers": "Authorization, Content-Type, X-Admin-Token, Last-Event-ID, Idempotency-Key, Mcp-Protocol-Version",
      "access-control-max-age": "600",
      vary: "Origin",
    });
    expect((await pre("https://a.example.test", "/admin/state")).status).toBe(204);
    const other = await pre("https://c.example.test");
    expect(other.status).toBe(204);
    expect([...other.headers.keys()].filter((k) => k.startsWith("access-control"))).toEqual([]);
  });

  test("without the setting there is no CORS handling at all", async () => {
    const t = newTestApp();
    const r = await t.req("OPTIONS", "/messages", { headers: { origin: "https://a.example.test", "access-control-request-method": "POST" } });
    expect(r.status).toBe(405);
    const g = await t.req("GET", "/health", { headers: { origin: "https://a.example.test" } });
    expect([...r.headers.keys(), ...g.headers.keys()].filter((k) => k.startsWith("access-control"))).toEqual([]);
  });
});

describe("response headers (SPEC §1.4, §5.9, §9.3)", () => {
  test("JSON answers carry the security headers, no-store and the JSON CSP, errors included", async () => {
    const t = newTestApp({ ARGYBARGY_MAX_BODY_BYTES: "1024", ARGYBARGY_MAX_TEXT: "1" });
    const alice = await t.invite("alice");
    const responses = [
      await t.req("GET", "/health"), await t.req("GET", "/"), await alice.req("GET", "/messages"), await t.req("GET", "/whoami"),
      await t.req("GET", "/nope"), await t.req("PUT", "/health"), await t.req("POST", "/messages", { body: "x".repeat(6000) }),
      await alice.req("POST", "/messages", { text: "too long" }), await t.admin("GET", "/admin/state"), await t.req("GET", "/openapi.json"),
    ];
    for (const r of responses) {
      expect(r.headers.get("content-type")).toStartWith("application/json");
      expect(headersOf(r.headers, [...Object.keys(SECURITY), "cache-control", "content-security-policy"]))
        .toEqual({ ...SECURITY, "cache-control": "no-store", "content-security-policy": JSON_CSP });
    }
    expect(responses.map((r) => r.status)).toEqual([200, 200, 200, 401, 404, 405, 413, 422, 200, 200]);
  });

  test("the dashboard and its assets carry the §9.3 CSP; the docs and their assets the §5.9 CSP", async () => {
    const t = newTestApp();
    for (const [path, csp] of [
      ["/dashboard", DASHBOARD_CSP], ["/dashboard/assets/app.js", DASHBOARD_CSP], ["/dashboard/assets/app.css", DASHBOARD_CSP],
      ["/docs", DOCS_CSP], ["/docs/assets/init.js", DOCS_CSP], ["/docs/assets/swagger-ui.css", DOCS_CSP], ["/docs/assets/swagger-ui-bundle.js", DOCS_CSP],
    ]) {
      const r = await t.req("GET", path!);
      expect<unknown>({ path, status: r.status, ...headersOf(r.headers, [...Object.keys(SECURITY), "content-security-policy"]) })
        .toEqual({ path, status: 200, ...SECURITY, "content-security-policy": csp });
    }
    const page = await t.req("GET", "/dashboard");
    expect(page.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(page.text).toContain("<title>Argybargy — Admin</title>");
    const docs = await t.req("GET", "/docs");
    expect(docs.text).toContain("/docs/assets/");
    expect(docs.text).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/); // no inline scripts
    expect(docs.text).not.toMatch(/https?:\/\//); // no third-party requests
    const redoc = await t.req("GET", "/redoc");
    expect({ status: redoc.status, location: redoc.headers.get("location"), ...headersOf(redoc.headers, Object.keys(SECURITY)) })
      .toEqual({ status: 302, location: "/docs", ...SECURITY });
  });
});

describe("OpenAPI (SPEC §5.9)", () => {
  test("lists every route, the three security schemes and the error envelope; quotes the configured limits", async () => {
    const t = newTestApp({ ARGYBARGY_MAX_TEXT: "123", ARGYBARGY_MAX_WAIT: "7" });
    const r = await t.req("GET", "/openapi.json");
    expect(r.status).toBe(200);
    const doc = r.json;
    expect(doc.openapi).toStartWith("3.");
    expect(doc.info).toMatchObject({ title: "Argybargy Bridge", version: "1.1.0" });
    const ops = Object.entries(doc.paths as Record<string, Record<string, unknown>>)
      .flatMap(([path, item]) => Object.keys(item).filter((m) => ["get", "post"].includes(m)).map((m) => `${m.toUpperCase()} ${path}`));
    for (const op of [
      "GET /", "GET /health", "GET /whoami", "GET /peers", "POST /messages", "GET /messages", "GET /messages/stream", "POST /messages/{seq}/claim", "GET /history",
      "POST /mcp", "GET /llms.txt", "GET /admin/state", "GET /admin/stats", "GET /admin/audit", "GET /admin/changes", "POST /admin/invite", "POST /admin/revoke",
      "POST /admin/say", "POST /admin/regenerate-token", "POST /admin/rooms/{room}/close", "POST /admin/rooms/{room}/reopen", "GET /metrics",
    ]) expect({ op, listed: ops.includes(op) }).toEqual({ op, listed: true });
    expect(doc.paths["/mcp"].post.description).toContain("up to 7 s");
    expect(doc.paths["/mcp"].post.security).toEqual([{ agentCode: [] }]);
    expect(Object.keys(doc.components.securitySchemes).sort()).toEqual(["adminToken", "agentCode", "metricsToken"]);
    expect(doc.components.schemas.Error).toBeDefined();
    const stream = doc.paths["/messages/stream"].get;
    expect(Object.keys(stream.responses[200].content)).toEqual(["text/event-stream"]);
    expect(stream.parameters.map((p: any) => `${p.in} ${p.name}`)).toEqual(["query since", "header Last-Event-ID"]);
    expect(Object.keys(stream.responses).sort()).toEqual(["200", "401", "422", "429"]);
    expect(doc.components.schemas.StreamRoomEvent).toBeDefined();
    expect(r.text).toContain("123");
    expect(r.text).not.toContain("8000");
  });

  test("ARGYBARGY_DOCS=false: the document, the docs, their assets and /redoc are all 404", async () => {
    const t = newTestApp({ ARGYBARGY_DOCS: "false" });
    for (const path of ["/openapi.json", "/docs", "/docs/assets/init.js", "/docs/assets/swagger-ui-bundle.js", "/redoc"]) {
      const r = await t.req("GET", path);
      expect({ path, status: r.status, error: r.json?.error }).toEqual({ path, status: 404, error: "not_found" });
    }
    expect((await t.req("GET", "/dashboard")).status).toBe(200);
  });
});
