import { Elysia } from "elysia";
import type { Agent } from "../relay/types.ts";
import { guards } from "./auth.ts";
import type { RawBody } from "./body.ts";
import type { RouteDeps } from "./deps.ts";
import { jsonResponse } from "./errors.ts";
import { mcpWaitCap } from "./mcp-limits.ts";
import { mcpDocs } from "./schemas.ts";

/**
 * JSON-RPC messages one POST may carry. The SDK allows 100; a batch of waits would park
 * that many requests for one client, and no MCP client batches (protocol 2025-06-18 dropped it).
 */
export const MCP_MAX_BATCH = 10;

/**
 * The MCP SDK (with zod and ajv) takes longer to load than the rest of the binary together, so
 * it loads on the first `/mcp` request: every CLI verb, and a relay nobody reaches over MCP,
 * start without it.
 */
let sdk: Promise<[typeof import("./mcp-tools.ts"), typeof import("@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js")]> | null = null;
const loadSdk = () => (sdk ??= Promise.all([import("./mcp-tools.ts"), import("@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js")]));

/**
 * POST /mcp         MCP over Streamable HTTP, stateless (a fresh server and transport per request)
 * GET, DELETE /mcp  405 (no server-initiated stream, no sessions), from the route table
 *
 * The bearer code is checked by the `agent` guard before any MCP object is built (401/429 in
 * the SPEC envelope, counted by the failed-auth throttle); the body was read under the size cap.
 */
export function mcpRoutes({ relay, config, logError }: RouteDeps) {
  return new Elysia({ name: "argybargy-mcp-routes" })
    .use(guards(relay, config.trustProxy))
    .post("/mcp", async ({ agent, body, request, server }) => {
      const raw = body as RawBody;
      if (raw.kind !== "json") return rpcError(-32700, raw.kind === "bad" ? `Parse error: ${raw.why}` : "Parse error: the body is empty; send a JSON-RPC message.");
      if (Array.isArray(raw.value) && raw.value.length > MCP_MAX_BATCH) {
        return rpcError(-32600, `Invalid Request: a batch may hold at most ${MCP_MAX_BATCH} messages, this one has ${raw.value.length}.`);
      }
      const malformed = malformedCall(raw.value);
      if (malformed) return rpcError(-32602, malformed.why, malformed.id);
      // A wait outlives the server's idle timeout when ARGYBARGY_MAX_WAIT is short.
      server?.timeout(request, Math.min(255, mcpWaitCap(config) + 15));
      return handle(agent, raw.value, request);
    }, { agent: true, ...mcpDocs(config) });

  async function handle(agent: Agent, message: unknown, request: Request): Promise<Response> {
    const [{ mcpServer }, { WebStandardStreamableHTTPServerTransport }] = await loadSdk();
    const mcp = mcpServer({ relay, config, agent, logError });
    const transport = new WebStandardStreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
    // The SDK does not notice a client that hangs up; closing the transport aborts every tool's signal, ending a parked wait.
    const hangUp = () => void transport.close();
    request.signal.addEventListener("abort", hangUp, { once: true });
    try {
      await mcp.connect(transport);
      return await transport.handleRequest(request, { parsedBody: message });
    } finally {
      request.signal.removeEventListener("abort", hangUp);
      await mcp.close();
    }
  }
}

/** A JSON-RPC error answer (HTTP 400), the form MCP clients read on this path. */
function rpcError(code: number, message: string, id: unknown = null): Response {
  return jsonResponse(400, { jsonrpc: "2.0", id, error: { code, message } });
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * The first tools/call whose params are not {name: string, arguments?: object}. The SDK calls
 * that -32603 "internal error" with a schema dump; it is the client's mistake, so it is refused
 * here as -32602 before anything in the batch runs (no partial write).
 */
function malformedCall(value: unknown): { id: unknown; why: string } | null {
  for (const m of Array.isArray(value) ? value : [value]) {
    if (!isRecord(m) || m.method !== "tools/call") continue;
    const p = m.params;
    const id = typeof m.id === "string" || typeof m.id === "number" ? m.id : null;
    if (!isRecord(p) || typeof p.name !== "string") return { id, why: "Invalid params: tools/call needs params {name: string, arguments?: object}." };
    if (p.arguments !== undefined && !isRecord(p.arguments)) return { id, why: `Invalid params: the arguments of ${p.name.slice(0, 40)} must be a JSON object.` };
  }
  return null;
}
