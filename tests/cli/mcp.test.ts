import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { callBody, mcpRelay, toolJson } from "../http/mcp-helpers.ts";
import { tempDir } from "../helpers.ts";
import { closedPort } from "./run-cli.ts";

// `argybargy mcp`, spawned as an MCP host would spawn it and driven by the SDK's StdioClientTransport.

const REPO = join(import.meta.dir, "..", "..");
let r: Awaited<ReturnType<typeof mcpRelay>>;
let dir: ReturnType<typeof tempDir>;
const bridges: Client[] = [];
beforeAll(async () => {
  r = await mcpRelay({ ARGYBARGY_RATE_MAX: "0" });
  dir = tempDir("argy-bridge-");
});
afterAll(async () => {
  await Promise.all(bridges.map((c) => c.close().catch(() => {})));
  await r.stop();
  dir.cleanup();
});

/** What an MCP host passes a child: a few variables, plus what its config names. */
const hostEnv = (extra: Record<string, string> = {}) => ({ PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: dir.path, ARGYBARGY_DATA: dir.path, ...extra });

async function bridge(args: string[], env: Record<string, string> = {}): Promise<Client> {
  const client = new Client({ name: "test-host", version: "1.0.0" });
  await client.connect(new StdioClientTransport({ command: process.execPath, args: [join(REPO, "src/main.ts"), "mcp", ...args], env: hostEnv(env), stderr: "pipe" }));
  bridges.push(client);
  return client;
}

describe("argybargy mcp (stdio bridge)", () => {
  test("lists the relay's tools and forwards send and wait; a second agent on /mcp receives it", async () => {
    const alice = await bridge(["--url", r.url, "--code", await r.invite("alice", "bridge")]);
    const bob = await r.connect(await r.invite("bob", "bridge"));
    const viaBridge = (await alice.listTools()).tools;
    const direct = (await bob.listTools()).tools;
    expect(viaBridge).toEqual(direct);
    expect(alice.getInstructions()).toBe(bob.getInstructions());
    const sent = toolJson(await alice.callTool({ name: "send", arguments: { text: "hello from stdio", expects_reply: "bob" } }));
    expect(sent.body).toMatchObject({ from: "alice", text: "hello from stdio", expects_reply: "bob" });
    const got = toolJson(await bob.callTool({ name: "wait", arguments: { timeout_s: 5 } }));
    expect(got.body.messages.map((m: any) => [m.from, m.text, m.expects_reply_resolved])).toEqual([["alice", "hello from stdio", "bob"]]);
    const back = toolJson(await bob.callTool({ name: "send", arguments: { text: "hi alice", to: "alice" } }));
    const parked = toolJson(await alice.callTool({ name: "wait", arguments: { timeout_s: 5 } }));
    expect(parked.body.messages.map((m: any) => m.seq)).toEqual([back.body.seq]);
  }, 30_000);

  test("takes the code from ARGYBARGY_CODE or --code-file, so it need not show in ps; domain errors pass through", async () => {
    const fromEnv = await bridge(["--url", r.url], { ARGYBARGY_CODE: await r.invite("carol", "bridge") });
    expect(toolJson(await fromEnv.callTool({ name: "whoami", arguments: {} })).body.name).toBe("carol");
    const file = join(dir.path, "dave.code");
    writeFileSync(file, `${await r.invite("dave", "bridge")}\n`);
    const fromFile = await bridge(["--url", `${r.url}/mcp`, "--code-file", file]);
    expect(toolJson(await fromFile.callTool({ name: "whoami", arguments: {} })).body.name).toBe("dave");
    const refused = toolJson(await fromFile.callTool({ name: "send", arguments: { text: "x", to: "nobody" } }));
    expect(refused).toMatchObject({ isError: true, body: { error: "unknown_recipient" } });
  }, 30_000);

  test("a code revoked while the bridge runs becomes a tool error naming HTTP 401", async () => {
    const client = await bridge(["--url", r.url, "--code", await r.invite("erin", "bridge")]);
    expect(toolJson(await client.callTool({ name: "whoami", arguments: {} })).isError).toBe(false);
    await r.admin("POST", "/admin/revoke", { target: "erin", room: "bridge" });
    const res = toolJson(await client.callTool({ name: "whoami", arguments: {} }));
    expect(res.isError).toBe(true);
    expect(res.body.message).toContain("HTTP 401");
  }, 30_000);

  test("stdout carries nothing but JSON-RPC; the bridge exits 0 when stdin ends", async () => {
    const code = await r.invite("frank", "bridge");
    const proc = Bun.spawn([process.execPath, join(REPO, "src/main.ts"), "mcp", "--url", r.url], {
      env: hostEnv({ ARGYBARGY_CODE: code, ARGYBARGY_LOG_LEVEL: "info" }), stdin: "pipe", stdout: "pipe", stderr: "pipe",
    });
    const init = { jsonrpc: "2.0", id: 0, method: "initialize", params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "raw", version: "1" } } };
    proc.stdin.write(`${JSON.stringify(init)}\n${JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" })}\n${JSON.stringify(callBody(1, "whoami"))}\n`);
    await proc.stdin.flush();
    const reader = proc.stdout.getReader();
    let out = "";
    while (out.split("\n").filter(Boolean).length < 2) {
      const { value, done } = await reader.read();
      if (done) break;
      out += new TextDecoder().decode(value);
    }
    proc.stdin.end();
    expect(await Promise.race([proc.exited, Bun.sleep(10_000).then(() => "still running")])).toBe(0);
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      out += new TextDecoder().decode(value);
    }
    const lines = out.split("\n").filter(Boolean);
    for (const line of lines) expect(JSON.parse(line).jsonrpc).toBe("2.0");
    expect(JSON.parse(lines[1]!).result.content[0].text).toContain('"name":"frank"');
    const stderr = await new Response(proc.stderr).text();
    expect(stderr).toContain("forwarding stdio to");
    expect(stderr).not.toContain(code);
  }, 30_000);

  test("no code, a bad code or an unreachable relay: exit 1 with one line on stderr, nothing on stdout", async () => {
    // Asynchronous: the relay answering the bridge runs in this process.
    const run = async (args: string[], env: Record<string, string> = {}) => {
      const p = Bun.spawn([process.execPath, join(REPO, "src/main.ts"), "mcp", ...args], { env: hostEnv(env), stdin: "ignore", stdout: "pipe", stderr: "pipe" });
      const [code, stdout, stderr] = await Promise.all([p.exited, new Response(p.stdout).text(), new Response(p.stderr).text()]);
      return { code, stdout, stderr: stderr.trim() };
    };
    const none = await run(["--url", r.url]);
    expect(none).toMatchObject({ code: 1, stdout: "" });
    expect(none.stderr).toContain("no agent code");
    const bad = await run(["--url", r.url, "--code", "wrong-code-0000000000000000000000"]);
    expect(bad).toMatchObject({ code: 1, stdout: "" });
    expect(bad.stderr).toContain("HTTP 401 unauthorized");
    expect(bad.stderr).not.toContain("wrong-code-0000000000000000000000");
    const gone = await run(["--url", `http://127.0.0.1:${closedPort()}`, "--code", "x"]);
    expect(gone).toMatchObject({ code: 1, stdout: "" });
    expect(gone.stderr.split("\n")).toHaveLength(1);
    const missing = await run(["--url", r.url, "--code-file", join(dir.path, "absent")]);
    expect(missing.stderr).toContain("cannot read the code file");
  }, 30_000);
});
