import { defineCommand } from "citty";
import { loadAgentEnv } from "../config.ts";
import { agentArgs, agentCode, agentUrl } from "./agent-client.ts";
import { setupVerb } from "./context.ts";
import { createLogger } from "./log.ts";

/**
 * `argybargy mcp`: a stdio MCP server for hosts that only launch local commands. It forwards
 * tools/list and tools/call to the relay's `/mcp` with the agent's code, so every rule stays
 * on the relay. stdout carries nothing but the protocol; it exits 0 when stdin ends, 1 when the
 * relay refuses the code or cannot be reached at start.
 */
export const mcpCommand = defineCommand({
  meta: { name: "mcp", description: "Serve the relay's MCP tools over stdio (for MCP hosts that launch a command)" },
  args: agentArgs,
  async run(ctx) {
    const { io, config } = setupVerb(ctx);
    const log = createLogger(config.logLevel, config.logFormat);
    const env = loadAgentEnv(io.env);
    const code = agentCode(ctx.args, env);
    const endpoint = new URL(`${agentUrl(ctx.args.url, env, config.port).replace(/\/+$/, "").replace(/\/mcp$/, "")}/mcp`);
    // The MCP SDK loads only for this verb: it takes longer to load than the rest of the CLI.
    const { runBridge } = await import("./mcp-bridge.ts");
    await runBridge(endpoint, code, log);
  },
});
