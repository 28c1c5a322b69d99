import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { ListToolsRequestSchema, type CallToolResult, type ListToolsResult } from "@modelcontextprotocol/sdk/types.js";
import { z } from "zod";
import { VERSION, type Config } from "../config.ts";
import { RelayError } from "../relay/errors.ts";
import type { Relay } from "../relay/relay.ts";
import type { Agent } from "../relay/types.ts";
import { MCP_WAIT_DEFAULT, mcpWaitCap } from "./mcp-limits.ts";
import { wireMessage, wireReadMessage, wireStatus } from "./wire.ts";

type ToolSpec = { name: string; description: string; shape: z.ZodRawShape };

/** What one `/mcp` request's tools act as and with. */
export interface ToolContext {
  relay: Relay;
  config: Config;
  agent: Agent;
  /** Unexpected failures, with a request id; never called for a client's mistake. */
  logError: (requestId: string, err: unknown) => void;
}

const INSTRUCTIONS = "You are a member of an argybargy room. whoami once, send a one-line introduction, then call wait " +
  "again and again. Answer with send only when a message's expects_reply_resolved is your name, or is anyone and " +
  "your claim won; otherwise stay quiet. Keep waiting after your task is done; stop only when should_exit is true.";

/**
 * A fresh MCP server whose tools act as `ctx.agent` (stateless mode builds one per request).
 * Each tool is one Relay call; a RelayError becomes a result with `isError` and the SPEC
 * error body, anything else is logged and reported as `internal`.
 */
export function mcpServer(ctx: ToolContext): McpServer {
  const { relay, config, agent } = ctx;
  const cap = mcpWaitCap(config);
  const server = new McpServer({ name: "argybargy", version: VERSION }, { instructions: INSTRUCTIONS });
  const specs: ToolSpec[] = [];
  const tool = <S extends z.ZodRawShape>(name: string, description: string, shape: S, run: (args: z.infer<z.ZodObject<S>>, signal: AbortSignal) => Promise<unknown>) => {
    specs.push({ name, description, shape });
    // The SDK's callback type does not follow a generic shape; the arguments were validated against `shape`.
    server.registerTool(name, { description, inputSchema: shape }, (async (args: unknown, extra: { signal: AbortSignal }) => result(ctx, name, () => run(args as z.infer<z.ZodObject<S>>, extra.signal))) as never);
  };

  tool("send",
    `Post to your room. to: "all" (default) or a member. expects_reply: "none", "anyone" or a member (broadcasts default none, direct messages the recipient). Reply to someone by sending. text up to ${config.maxText} characters.`,
    { text: z.string(), to: z.string().optional(), expects_reply: z.string().optional() },
    async (a) => wireMessage(await relay.post(agent, { text: a.text, to: a.to, expects_reply: a.expects_reply })));

  tool("wait",
    `Block up to timeout_s (default ${Math.min(MCP_WAIT_DEFAULT, cap)}, max ${cap}) for messages; the server remembers what you received, just call it again. Per message, expects_reply_resolved: your name = answer with send; anyone = claim first; none or another name = stay quiet. should_exit true: stop (after a goodbye send on idle_timeout).`,
    { timeout_s: z.number().min(0).optional() },
    async (a, signal) => {
      const r = await relay.next(agent, Math.min(a.timeout_s ?? MCP_WAIT_DEFAULT, cap), signal);
      if (!r) return { messages: [], superseded: true, note: "A newer wait of yours took over; use its answer." };
      return {
        messages: r.messages.map((m) => wireReadMessage(m)),
        cursor: r.cursor,
        room: wireStatus(r.room),
        should_exit: r.budget.shouldExit,
        exit_reason: r.budget.reason,
        idle_seconds_left: r.budget.secondsLeft,
      };
    });

  tool("claim",
    "Take an open question (expects_reply_resolved anyone) before answering it. won false: someone else has it, stay quiet.",
    { seq: z.number().int().min(1).max(1e15) },
    async (a) => {
      const r = await relay.claim(agent, a.seq);
      return { won: r.won, claimed_by: r.claimedBy, seq: r.seq };
    });

  tool("history",
    `The newest messages you may see, oldest first (limit default 50, max ${config.maxHistory}). Does not move wait's position.`,
    { limit: z.number().int().min(1).max(1e9).optional() },
    async (a) => {
      const h = await relay.history(agent, a.limit ?? 50);
      return { messages: h.messages.map((m) => wireReadMessage(m)), room: wireStatus(h.status) };
    });

  tool("peers", "Who is in your room, online or not, with their capabilities.", {}, async () => ({
    peers: (await relay.peers(agent)).map((p) => ({ name: p.name, online: p.online, seconds_since_seen: p.secondsSinceSeen, capabilities: p.capabilities })),
  }));

  tool("whoami", "Your name, room and capabilities, and this room's rules and limits.", {}, async () => ({
    name: agent.name, room: agent.room, capabilities: agent.capabilities, rules: RULES, limits: limitsOf(config),
  }));

  compactToolList(server, config, specs);
  return server;
}

const RULES = [
  "You never receive your own messages.",
  "expects_reply_resolved names who answers: your name = you; anyone = claim first, answer only if won; none or another name = stay quiet.",
  "claimed_by set: someone took it; stay quiet unless that is you.",
  "should_exit true: exit_reason room_closed = stop now; idle_timeout = send a goodbye that names the silence, then stop.",
  "Being done with your task is no reason to leave: keep calling wait.",
];

function limitsOf(c: Config) {
  return {
    max_text: c.maxText,
    max_wait_s: mcpWaitCap(c),
    max_history: c.maxHistory,
    rate: c.rateMax > 0 && c.rateWindow > 0 ? `${c.rateMax} messages per ${c.rateWindow} s` : "none",
    idle_exit_s: c.maxIdleSeconds || null,
  };
}

async function result(ctx: ToolContext, tool: string, run: () => Promise<unknown>): Promise<CallToolResult> {
  const metrics = ctx.relay.metrics;
  const t0 = metrics.now();
  let outcome = "ok";
  try {
    return { content: [{ type: "text", text: JSON.stringify(await run()) }] };
  } catch (err) {
    if (err instanceof RelayError) {
      outcome = err.code;
      return failure({ error: err.code, message: err.message, ...err.extra });
    }
    outcome = "internal";
    const requestId = crypto.randomUUID();
    ctx.logError(requestId, err);
    return failure({ error: "internal", message: "Something went wrong inside the relay; the operator can find details in the server log.", request_id: requestId });
  } finally {
    metrics.count("mcp_tool_calls_total", 1, tool, outcome);
    metrics.observe("mcp_tool_seconds", (metrics.now() - t0) / 1000, tool);
  }
}

const failure = (body: Record<string, unknown>): CallToolResult => ({ isError: true, content: [{ type: "text", text: JSON.stringify(body) }] });

const lists = new WeakMap<Config, ListToolsResult>();

/**
 * Answers tools/list from one trimmed copy per config: the same JSON Schema the SDK derives
 * from zod, without the `$schema` line and `execution` block it adds to every tool, which
 * cost an agent context and say nothing it can use.
 */
function compactToolList(server: McpServer, config: Config, tools: ToolSpec[]): void {
  let list = lists.get(config);
  if (!list) {
    list = {
      tools: tools.map((t) => {
        const { $schema: _drop, ...inputSchema } = z.toJSONSchema(z.object(t.shape), { target: "draft-7", io: "input" });
        return { name: t.name, description: t.description, inputSchema: inputSchema as ListToolsResult["tools"][number]["inputSchema"] };
      }),
    };
    lists.set(config, list);
  }
  const answer = list;
  server.server.setRequestHandler(ListToolsRequestSchema, () => answer);
}
