import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { StreamableHTTPError } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { startServer } from "../../src/cli/serve.ts";
import { tempDir, testConfig } from "../helpers.ts";
import { callBody, mcpRelay, toolJson } from "./mcp-helpers.ts";

// /mcp driven by the SDK's own Client and StreamableHTTPClientTransport against a real server.

let r: Awaited<ReturnType<typeof mcpRelay>>;
beforeAll(async () => {
  r = await mcpRelay({ ARGYBARGY_RATE_MAX: "0" });
});
afterAll(() => r.stop());

const call = async (client: Awaited<ReturnType<typeof r.connect>>, name: string, args: Record<string, unknown> = {}) => toolJson(await client.callTool({ name, arguments: args }));

describe("MCP over Streamable HTTP", () => {
  test("tools/list: six tools, each described; the whole response is under 8,000 characters (≈ 2,000 tokens)", async () => {
    const code = await r.invite("lister", "budget");
    const client = await r.connect(code);
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual(["claim", "history", "peers", "send", "wait", "whoami"]);
    for (const t of tools) expect(t.description!.length).toBeGreaterThan(20);
    const raw = await r.post(code, JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/list" }));
    expect(raw.status).toBe(200);
    expect(raw.json.result.tools).toHaveLength(6);
    expect(raw.text).not.toContain("$schema");
    expect(raw.text).not.toContain("9007199254740991");
    console.error(`tools/list response: ${raw.text.length} characters`);
    expect(raw.text.length).toBeLessThan(8000);
  });

  test("the descriptions teach the etiquette: claim before answering anyone, stay quiet otherwise, leave on should_exit", async () => {
    const client = await r.connect(await r.invite("reader", "budget"));
    const text = (await client.listTools()).tools.map((t) => t.description).join(" ");
    for (const part of ["claim first", "stay quiet", "should_exit", "answer with send"]) expect(text).toContain(part);
    expect(client.getInstructions()).toContain("should_exit");
  });

  test("send stores the message; a second agent's wait receives it exactly once; whoami and peers answer", async () => {
    const alice = await r.connect(await r.invite("alice", "talk"));
    const bob = await r.connect(await r.invite("bob", "talk"));
    const sent = await call(alice, "send", { text: "bob, can you review?", to: "bob" });
    expect(sent.isError).toBe(false);
    expect(sent.body).toMatchObject({ from: "alice", to: "bob", text: "bob, can you review?", expects_reply: "bob", claimed_by: null });
    const got = await call(bob, "wait", { timeout_s: 5 });
    expect(got.body.messages.map((m: any) => [m.seq, m.from, m.expects_reply_resolved])).toEqual([[sent.body.seq, "alice", "bob"]]);
    expect(got.body).toMatchObject({ cursor: sent.body.seq, should_exit: false, exit_reason: null, room: { name: "talk", status: "open" } });
    // The server kept the position: the same message is never handed out twice.
    expect((await call(bob, "wait", { timeout_s: 0 })).body.messages).toEqual([]);
    expect((await call(bob, "whoami")).body).toMatchObject({ name: "bob", room: "talk", limits: { max_text: 8000, max_wait_s: 25 } });
    expect((await call(bob, "peers")).body.peers.map((p: any) => [p.name, p.online])).toEqual([["alice", true], ["bob", true]]);
    expect((await call(bob, "history", { limit: 5 })).body.messages.map((m: any) => m.seq)).toEqual([sent.body.seq]);
  });

  test("a parked wait is woken by a post over plain HTTP", async () => {
    const waiter = await r.connect(await r.invite("waiter", "wake"));
    const poster = r.http(await r.invite("poster", "wake"));
    const parked = call(waiter, "wait", { timeout_s: 20 });
    await Bun.sleep(100);
    const started = performance.now();
    expect((await poster("POST", "/messages", { text: "wake up" })).status).toBe(200);
    const got = await parked;
    expect(performance.now() - started).toBeLessThan(5000);
    expect(got.body.messages.map((m: any) => m.text)).toEqual(["wake up"]);
  }, 30_000);

  test("claim races between MCP agents and HTTP agents: exactly one winner per question", async () => {
    const asker = r.http(await r.invite("asker", "race"));
    const mcpAgents = await Promise.all(["m1", "m2"].map(async (n) => r.connect(await r.invite(n, "race"))));
    const httpAgents = await Promise.all(["h1", "h2"].map(async (n) => r.http(await r.invite(n, "race"))));
    for (let round = 0; round < 10; round++) {
      const seq = (await asker("POST", "/messages", { text: `question ${round}`, expects_reply: "anyone" })).json.message.seq;
      const outcomes = await Promise.all([
        ...mcpAgents.map(async (c) => {
          const res = await call(c, "claim", { seq });
          expect(res.isError).toBe(false);
          return res.body.won as boolean;
        }),
        ...httpAgents.map(async (h) => {
          const res = await h("POST", `/messages/${seq}/claim`);
          expect([200, 409]).toContain(res.status);
          return res.status === 200;
        }),
      ]);
      expect(outcomes.filter(Boolean)).toHaveLength(1);
      const holder = (await asker("GET", "/history?limit=1")).json.messages[0].claimed_by;
      const loser = await call(mcpAgents[0]!, "claim", { seq });
      expect(loser.body).toEqual({ won: holder === "m1", claimed_by: holder, seq });
    }
  }, 30_000);

  test("closing the room ends a parked wait with should_exit; send then answers room_closed as a tool error", async () => {
    const agent = await r.connect(await r.invite("stayer", "closing"));
    const parked = call(agent, "wait", { timeout_s: 20 });
    await Bun.sleep(100);
    expect((await r.admin("POST", "/admin/rooms/closing/close")).status).toBe(200);
    const got = await parked;
    expect(got.body).toMatchObject({ should_exit: true, exit_reason: "room_closed", room: { status: "closed" } });
    const refused = await call(agent, "send", { text: "still here?" });
    expect(refused.isError).toBe(true);
    expect(refused.body).toMatchObject({ error: "room_closed" });
  }, 30_000);

  test("domain errors are tool results with isError and the SPEC code; the relay's rules are the HTTP API's", async () => {
    const a = await r.connect(await r.invite("errs", "rules"));
    await r.invite("other", "rules");
    const cases: [string, Record<string, unknown>, string][] = [
      ["send", { text: "x", to: "nobody" }, "unknown_recipient"],
      ["send", { text: "" }, "invalid"],
      ["send", { text: "x".repeat(8001) }, "invalid"],
      ["send", { text: "x", expects_reply: "ghost" }, "unknown_recipient"],
      ["claim", { seq: 999 }, "not_found"],
    ];
    for (const [name, args, error] of cases) {
      const res = await call(a, name, args);
      expect([name, res.isError, res.body.error]).toEqual([name, true, error]);
      expect(typeof res.body.message).toBe("string");
    }
    const own = (await call(a, "send", { text: "mine", expects_reply: "anyone" })).body.seq;
    expect((await call(a, "claim", { seq: own })).body).toMatchObject({ error: "not_claimable", seq: own });
    expect((await r.http(await r.invite("auditor", "rules"))("GET", "/history")).json.messages.map((m: any) => m.text)).toEqual(["mine"]);
  });

  test("a revoked code is 401 on the next call", async () => {
    const code = await r.invite("leaver", "revoke");
    const client = await r.connect(code);
    expect((await call(client, "whoami")).body.name).toBe("leaver");
    expect((await r.admin("POST", "/admin/revoke", { target: "leaver", room: "revoke" })).json).toEqual({ revoked: 1 });
    const err = await client.callTool({ name: "whoami", arguments: {} }).then(() => null, (e) => e);
    expect(err).toBeInstanceOf(StreamableHTTPError);
    expect(err.code).toBe(401);
    const raw = await r.post(code, JSON.stringify(callBody(1, "whoami")));
    expect(raw.status).toBe(401);
    expect(raw.json).toMatchObject({ error: "unauthorized" });
  });

  test("a client that hangs up ends its parked wait, and the position did not move", async () => {
    const code = await r.invite("quitter", "hangup");
    const poster = r.http(await r.invite("speaker", "hangup"));
    const abort = new AbortController();
    const pending = fetch(`${r.url}/mcp`, {
      method: "POST", signal: abort.signal,
      headers: { authorization: `Bearer ${code}`, accept: "application/json, text/event-stream", "content-type": "application/json" },
      body: JSON.stringify(callBody(1, "wait", { timeout_s: 20 })),
    }).catch(() => null);
    for (let i = 0; i < 100 && r.server.relay.readers.count() === 0; i++) await Bun.sleep(20);
    expect(r.server.relay.readers.count()).toBe(1);
    abort.abort();
    await pending;
    for (let i = 0; i < 100 && r.server.relay.readers.count() > 0; i++) await Bun.sleep(20);
    expect(r.server.relay.readers.count()).toBe(0);
    await poster("POST", "/messages", { text: "after the hang-up" });
    const client = await r.connect(code);
    expect((await call(client, "wait", { timeout_s: 5 })).body.messages.map((m: any) => m.text)).toEqual(["after the hang-up"]);
  }, 30_000);

});

test("wait is capped at ARGYBARGY_MAX_WAIT (the MCP ceiling is 45 s); a rate-limited send is a tool error with retry_after", async () => {
  const capped = await mcpRelay({ ARGYBARGY_MAX_WAIT: "1", ARGYBARGY_RATE_MAX: "1", ARGYBARGY_RATE_WINDOW: "60" });
  try {
    const client = await capped.connect(await capped.invite("impatient"));
    const started = performance.now();
    const got = await call(client, "wait", { timeout_s: 40 });
    expect(performance.now() - started).toBeLessThan(10_000);
    expect(got.body).toMatchObject({ messages: [], should_exit: false });
    expect((await call(client, "whoami")).body.limits.max_wait_s).toBe(1);
    expect((await call(client, "send", { text: "first" })).isError).toBe(false);
    const limited = await call(client, "send", { text: "second" });
    expect(limited.isError).toBe(true);
    expect(limited.body).toMatchObject({ error: "rate_limited" });
    expect(limited.body.retry_after).toBeGreaterThan(0);
  } finally {
    await capped.stop();
  }
}, 30_000);

test("the wait position is durable: after a restart an agent receives only what it has not received", async () => {
  const dir = tempDir("argy-mcp-restart-");
  const config = testConfig({ ARGYBARGY_PORT: "0", ARGYBARGY_LOG_LEVEL: "error" }, dir.path);
  try {
    let server = await startServer(config);
    const admin = (s: typeof server, body: unknown) => fetch(`${s.url}/admin/invite`, { method: "POST", headers: { "x-admin-token": s.adminToken }, body: JSON.stringify(body) }).then((x) => x.json() as any);
    const readerCode = (await admin(server, { name: "reader", room: "keep" })).code;
    const writerCode = (await admin(server, { name: "writer", room: "keep" })).code;
    const say = (s: typeof server, text: string) => fetch(`${s.url}/messages`, { method: "POST", headers: { authorization: `Bearer ${writerCode}` }, body: JSON.stringify({ text }) });
    const waitOnce = async (s: typeof server) => {
      const res = await fetch(`${s.url}/mcp`, {
        method: "POST",
        headers: { authorization: `Bearer ${readerCode}`, accept: "application/json, text/event-stream", "content-type": "application/json" },
        body: JSON.stringify(callBody(1, "wait", { timeout_s: 0 })),
      });
      return JSON.parse((await res.json() as any).result.content[0].text).messages.map((m: any) => m.text);
    };
    await say(server, "one");
    await say(server, "two");
    expect(await waitOnce(server)).toEqual(["one", "two"]);
    await say(server, "three");
    await server.stop();
    server = await startServer(config);
    try {
      expect(await waitOnce(server)).toEqual(["three"]);
      expect(await waitOnce(server)).toEqual([]);
    } finally {
      await server.stop();
    }
  } finally {
    dir.cleanup();
  }
}, 30_000);
