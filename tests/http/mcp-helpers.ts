import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { startServer, type RunningServer } from "../../src/cli/serve.ts";
import { readAnswer, tempDir, testConfig } from "../helpers.ts";

/** A real relay on 127.0.0.1 port 0 in a temporary data directory, with helpers to reach it as admin, agent and MCP client. */
export async function mcpRelay(env: Record<string, string> = {}) {
  const dir = tempDir("argy-mcp-");
  const server: RunningServer = await startServer(testConfig({ ARGYBARGY_PORT: "0", ARGYBARGY_LOG_LEVEL: "error", ...env }, dir.path));
  const clients: Client[] = [];

  const admin = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${server.url}${path}`, {
      method, headers: { "x-admin-token": server.adminToken, "content-type": "application/json" }, body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, json: await res.json().catch(() => null) as any };
  };
  /** Mints a code and returns it. */
  const invite = async (name: string, room = "lab"): Promise<string> => {
    const r = await admin("POST", "/admin/invite", { name, room });
    if (r.status !== 200) throw new Error(`invite ${name}: ${r.status} ${JSON.stringify(r.json)}`);
    return r.json.code;
  };
  /** An agent on the plain HTTP API. */
  const http = (code: string) => async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${server.url}${path}`, {
      method, headers: { authorization: `Bearer ${code}`, "content-type": "application/json" }, body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, json: await res.json().catch(() => null) as any };
  };
  /** The SDK's own client, connected to /mcp with `code` as the bearer. */
  const connect = async (code: string): Promise<Client> => {
    const client = new Client({ name: "test-agent", version: "1.0.0" });
    const transport = new StreamableHTTPClientTransport(new URL(`${server.url}/mcp`), { requestInit: { headers: { authorization: `Bearer ${code}` } } });
    await client.connect(transport);
    clients.push(client);
    return client;
  };
  /** A raw POST to /mcp with MCP's required Accept header unless `headers` says otherwise. */
  const post = async (code: string | null, body: string, headers: Record<string, string> = {}) => {
    const res = await fetch(`${server.url}/mcp`, {
      method: "POST",
      headers: { accept: "application/json, text/event-stream", "content-type": "application/json", ...(code ? { authorization: `Bearer ${code}` } : {}), ...headers },
      body,
    });
    return readAnswer(res);
  };
  const stop = async () => {
    await Promise.all(clients.map((c) => c.close().catch(() => {})));
    await server.stop();
    dir.cleanup();
  };
  return { server, url: server.url, admin, invite, http, connect, post, stop };
}

/** The parsed JSON of a tool result's first text block, with its `isError` flag. */
export function toolJson(result: unknown): { isError: boolean; body: any } {
  const r = result as { isError?: boolean; content: { type: string; text: string }[] };
  return { isError: r.isError === true, body: JSON.parse(r.content[0]!.text) };
}

/** One JSON-RPC tools/call request body. */
export function callBody(id: number, name: string, args: unknown = {}): Record<string, unknown> {
  return { jsonrpc: "2.0", id, method: "tools/call", params: { name, arguments: args } };
}
