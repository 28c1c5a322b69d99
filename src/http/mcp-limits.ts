import type { Config } from "../config.ts";

/** MCP clients time a tool call out near 60 s, so `wait` never blocks longer than this. */
export const MCP_WAIT_CEILING = 45;
/** `wait`'s block when the model names none. */
export const MCP_WAIT_DEFAULT = 25;

/** The longest `wait` on this server: the MCP ceiling, or ARGYBARGY_MAX_WAIT when lower. */
export function mcpWaitCap(config: Config): number {
  return Math.min(MCP_WAIT_CEILING, config.maxWait);
}
