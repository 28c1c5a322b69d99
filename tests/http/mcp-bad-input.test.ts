import { afterAll, beforeAll, expect, test } from "bun:test";
import { callBody, mcpRelay, toolJson } from "./mcp-helpers.ts";

// Every kind of bad input on /mcp gets a clear MCP or HTTP error, never a 500, and writes nothing.

let r: Awaited<ReturnType<typeof mcpRelay>>;
let code = "";
let witness: ReturnType<typeof r.http>;
beforeAll(async () => {
  r = await mcpRelay({ ARGYBARGY_RATE_MAX: "0", ARGYBARGY_AUTH_FAIL_MAX: "0", ARGYBARGY_MAX_TEXT: "100", ARGYBARGY_MAX_BODY_BYTES: "200000" });
  code = await r.invite("mallory", "bad");
  witness = r.http(await r.invite("witness", "bad"));
});
afterAll(() => r.stop());

const stored = async () => (await witness("GET", "/history?limit=500")).json.messages.length as number;
const rpc = (body: unknown) => JSON.stringify(body);
const sendCall = (id: number, text = "hello") => callBody(id, "send", { text });

type Case = {
  name: string;
  body: string;
  headers?: Record<string, string>;
  code?: string | null;
  status: number;
  /** HTTP envelope `error`, JSON-RPC `error.code`, or a tool result's text. */
  expect: { envelope?: string; rpc?: number; tool?: RegExp | string };
};

const cases: Case[] = [
  { name: "no Authorization header", code: null, body: rpc(sendCall(1)), status: 401, expect: { envelope: "unauthorized" } },
  { name: "a wrong code", code: "not-a-real-code-0000000000000000", body: rpc(sendCall(1)), status: 401, expect: { envelope: "unauthorized" } },
  { name: "a body that is not JSON", body: "{jsonrpc: 2.0,", status: 400, expect: { rpc: -32700 } },
  { name: "an empty body", body: "", status: 400, expect: { rpc: -32700 } },
  { name: "invalid UTF-8 is refused before it is read as JSON", body: "\u00ff", headers: {}, status: 400, expect: { rpc: -32700 } },
  { name: "JSON that is not JSON-RPC", body: rpc({ hello: "world" }), status: 400, expect: { rpc: -32700 } },
  { name: "a JSON-RPC array of garbage", body: rpc([1, "two", null]), status: 400, expect: { rpc: -32700 } },
  { name: "a batch of 1,000 sends", body: rpc(Array.from({ length: 1000 }, (_, i) => sendCall(i + 1))), status: 400, expect: { rpc: -32600 } },
  { name: "a batch of 11 waits", body: rpc(Array.from({ length: 11 }, (_, i) => callBody(i + 1, "wait", { timeout_s: 40 }))), status: 400, expect: { rpc: -32600 } },
  { name: "Content-Type text/plain", body: rpc(sendCall(1)), headers: { "content-type": "text/plain" }, status: 415, expect: { rpc: -32000 } },
  { name: "Accept without text/event-stream", body: rpc(sendCall(1)), headers: { accept: "application/json" }, status: 406, expect: { rpc: -32000 } },
  { name: "an unknown method", body: rpc({ jsonrpc: "2.0", id: 1, method: "rooms/delete" }), status: 200, expect: { rpc: -32601 } },
  { name: "an unknown tool", body: rpc(callBody(1, "delete_room", {})), status: 200, expect: { tool: /-32602.*delete_room not found/ } },
  { name: "send with a number as text", body: rpc(callBody(1, "send", { text: 42 })), status: 200, expect: { tool: /-32602.*text/ } },
  { name: "send without text", body: rpc(callBody(1, "send", { to: "all" })), status: 200, expect: { tool: /-32602.*text/ } },
  { name: "send with arguments that are a string", body: rpc({ jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: "send", arguments: "hi" } }), status: 400, expect: { rpc: -32602 } },
  { name: "tools/call without params", body: rpc({ jsonrpc: "2.0", id: 1, method: "tools/call" }), status: 400, expect: { rpc: -32602 } },
  { name: "a batch with one malformed call runs none of it", body: rpc([sendCall(1), { jsonrpc: "2.0", id: 2, method: "tools/call", params: { name: 7 } }]), status: 400, expect: { rpc: -32602 } },
  { name: "wait with a string timeout", body: rpc(callBody(1, "wait", { timeout_s: "forever" })), status: 200, expect: { tool: /-32602.*timeout_s/ } },
  { name: "wait with a negative timeout", body: rpc(callBody(1, "wait", { timeout_s: -5 })), status: 200, expect: { tool: /-32602.*timeout_s/ } },
  { name: "claim with a fractional seq", body: rpc(callBody(1, "claim", { seq: 1.5 })), status: 200, expect: { tool: /-32602.*seq/ } },
  { name: "claim with seq 0", body: rpc(callBody(1, "claim", { seq: 0 })), status: 200, expect: { tool: /-32602.*seq/ } },
  { name: "history with limit 0", body: rpc(callBody(1, "history", { limit: 0 })), status: 200, expect: { tool: /-32602.*limit/ } },
  { name: "text over ARGYBARGY_MAX_TEXT", body: rpc(callBody(1, "send", { text: "x".repeat(101) })), status: 200, expect: { tool: '"error":"invalid"' } },
  { name: "a body over the size cap", body: rpc(callBody(1, "send", { text: "x".repeat(250_000) })), status: 413, expect: { envelope: "payload_too_large" } },
];

test.each(cases)("$name → $status, a clear error, nothing written", async (c) => {
  const before = await stored();
  const res = await r.post(c.code === undefined ? code : c.code, c.body, c.headers);
  expect(res.status).toBe(c.status);
  expect(res.status).toBeLessThan(500);
  if (c.expect.envelope) {
    expect(res.json).toMatchObject({ error: c.expect.envelope });
    expect(typeof res.json.message).toBe("string");
  }
  if (c.expect.rpc) {
    const err = Array.isArray(res.json) ? res.json[0].error : res.json.error;
    expect(err.code).toBe(c.expect.rpc);
    expect(err.message.length).toBeGreaterThan(5);
  }
  if (c.expect.tool) {
    const { isError, body } = (() => {
      const result = res.json.result;
      try {
        return toolJson(result);
      } catch {
        return { isError: result.isError === true, body: result.content[0].text };
      }
    })();
    expect(isError).toBe(true);
    const text = typeof body === "string" ? body : JSON.stringify(body);
    if (c.expect.tool instanceof RegExp) expect(text).toMatch(c.expect.tool);
    else expect(text).toContain(c.expect.tool);
  }
  expect(await stored()).toBe(before);
});

test("GET and DELETE /mcp are 405 with Allow: POST (no session stream in stateless mode)", async () => {
  for (const method of ["GET", "DELETE", "PUT"]) {
    const res = await fetch(`${r.url}/mcp`, { method, headers: { authorization: `Bearer ${code}` } });
    expect(res.status).toBe(405);
    expect(res.headers.get("allow")).toBe("POST");
    expect((await res.json() as any).error).toBe("method_not_allowed");
  }
});

test("a batch within the bound is answered in full", async () => {
  const before = await stored();
  const res = await r.post(code, rpc([sendCall(1, "a"), sendCall(2, "b"), callBody(3, "whoami")]));
  expect(res.status).toBe(200);
  expect(res.json.map((m: any) => m.id).sort()).toEqual([1, 2, 3]);
  expect(await stored()).toBe(before + 2);
});

test("failed authentications on /mcp count toward the throttle: 429 with Retry-After", async () => {
  const strict = await mcpRelay({ ARGYBARGY_AUTH_FAIL_MAX: "2" });
  try {
    const statuses: number[] = [];
    let last: Awaited<ReturnType<typeof strict.post>> | null = null;
    for (let i = 0; i < 4; i++) {
      last = await strict.post("wrong-code-00000000000000000000", rpc(sendCall(1)));
      statuses.push(last.status);
    }
    expect(statuses.slice(0, 2)).toEqual([401, 401]);
    expect(statuses.at(-1)).toBe(429);
    expect(last!.json).toMatchObject({ error: "rate_limited" });
    expect(Number(last!.headers.get("retry-after"))).toBeGreaterThan(0);
  } finally {
    await strict.stop();
  }
});
