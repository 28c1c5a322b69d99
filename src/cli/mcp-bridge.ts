import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport, StreamableHTTPError } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { Server } from "@modelcontextprotocol/sdk/server/index.js";
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import { CallToolRequestSchema, ListToolsRequestSchema, type CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import type { ConsolaInstance } from "consola";
import { VERSION } from "../config.ts";
import { MCP_WAIT_CEILING } from "../http/mcp-limits.ts";
import { oneLine } from "./context.ts";
import { fail } from "./output.ts";

/** A forwarded call may take the longest `wait` plus the round trip; the SDK's own default (60 s) is close to it. */
const CALL_TIMEOUT_MS = (MCP_WAIT_CEILING + 30) * 1000;

/**
 * The stdio side of `argybargy mcp`: an SDK server on stdin/stdout whose tools/list and
 * tools/call are forwarded by an SDK client to the relay's `endpoint`. Resolves when stdin ends;
 * exits 1 (via `fail`) when the relay refuses the code or cannot be reached at start.
 */
export async function runBridge(endpoint: URL, code: string, log: ConsolaInstance): Promise<void> {
    const relay = new Client({ name: "argybargy-mcp-bridge", version: VERSION });
    try {
      await relay.connect(new StreamableHTTPClientTransport(endpoint, { requestInit: { headers: { authorization: `Bearer ${code}` } } }));
    } catch (err) {
      fail(`the relay at ${endpoint.href} did not accept the connection: ${describe(err)}`);
    }
    const bridge = new Server({ name: "argybargy", version: VERSION }, { capabilities: { tools: {} }, instructions: relay.getInstructions() });
    bridge.setRequestHandler(ListToolsRequestSchema, () => relay.listTools());
    bridge.setRequestHandler(CallToolRequestSchema, async (request, extra): Promise<CallToolResult> => {
      try {
        return await relay.callTool(request.params, undefined, { signal: extra.signal, timeout: CALL_TIMEOUT_MS }) as CallToolResult;
      } catch (err) {
        // A revoked code or a relay gone away reaches the model as a tool error it can read.
        return { isError: true, content: [{ type: "text", text: JSON.stringify({ error: "relay_failed", message: describe(err) }) }] };
      }
    });
    const stdinEnded = new Promise<void>((resolve) => {
      // The stdio transport never notices its host going away: stdin's end is the signal to leave.
      process.stdin.once("end", resolve);
      process.stdin.once("close", resolve);
    });
    await bridge.connect(new StdioServerTransport());
    log.info(`argybargy mcp: forwarding stdio to ${endpoint.href}`);
    await stdinEnded;
    await bridge.close().catch(() => {});
    await relay.close().catch(() => {});
}

/** One line about a failure talking to the relay; never the code itself. */
function describe(err: unknown): string {
  if (err instanceof StreamableHTTPError) {
    const body = /\{.*\}/s.exec(err.message)?.[0];
    let detail = "";
    try {
      const parsed = body ? JSON.parse(body) : null;
      detail = parsed?.error ? `${parsed.error}: ${parsed.message}` : "";
    } catch {
      detail = "";
    }
    return oneLine(`HTTP ${err.code ?? "?"}${detail ? ` ${detail}` : ""}`);
  }
  const e = err as Error & { code?: string; cause?: { code?: string } };
  return oneLine(e?.cause?.code ?? e?.code ?? e?.message ?? String(err));
}
