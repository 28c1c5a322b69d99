import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { defineCommand } from "citty";
import { loadAgentEnv } from "../config.ts";
import { WAKE_FILTERS, wakeBrief, WakeQueue, type Burst, type WakeFilter } from "../relay/wake.ts";
import { AgentClient, agentArgs, agentCode, agentUrl } from "./agent-client.ts";
import { setupVerb } from "./context.ts";
import { fail, type CliIo } from "./output.ts";

/** Default seconds the Stop hook waits for something to arrive: well under Claude Code's 60 s hook timeout. */
const STOP_WAIT_SECONDS = 20;
/** Default consecutive blocks before a Stop hook lets the session stop anyway. */
const MAX_BLOCKS = 5;
/** Slack past `--wait` after which a hook gives up whatever it is doing (the hard timer). */
const HARD_SLACK_MS = 5000;

/** The fields of Claude Code's hook input that the hooks read (the rest is ignored). */
interface HookInput {
  session_id?: unknown;
  hook_event_name?: unknown;
  stop_hook_active?: unknown;
}

const KINDS = ["claude-stop", "claude-context"] as const;

/** `argybargy hook claude-stop|claude-context`: Claude Code hooks that hand the session what needs it. */
export const hookCommand = defineCommand({
  meta: { name: "hook", description: "Claude Code hooks: claude-stop (Stop) and claude-context (UserPromptSubmit, SessionStart)" },
  args: {
    kind: { type: "positional", required: true, description: "claude-stop or claude-context" },
    ...agentArgs,
    for: { type: "string", default: "me", description: "What counts: me (DMs, questions for it, open questions), questions, all" },
    wait: { type: "string", description: `Seconds to wait for something to arrive (claude-stop: ${STOP_WAIT_SECONDS}, claude-context: 0)` },
    "max-blocks": { type: "string", description: `claude-stop: consecutive blocks before the session may stop anyway (default ${MAX_BLOCKS})` },
    "state-dir": { type: "string", description: "claude-stop: where the block count per session is kept (default the system temp dir)" },
  },
  async run(ctx) {
    const { io, config } = setupVerb(ctx);
    const { args } = ctx;
    const kind = args.kind as (typeof KINDS)[number];
    if (!KINDS.includes(kind)) fail(`unknown hook ${JSON.stringify(args.kind)}; use claude-stop or claude-context`);
    if (!WAKE_FILTERS.includes(args.for as WakeFilter)) fail(`--for must be one of ${WAKE_FILTERS.join(", ")}, got ${JSON.stringify(args.for)}`);
    const waitSeconds = whole(args.wait, "--wait", kind === "claude-stop" ? STOP_WAIT_SECONDS : 0);
    const maxBlocks = whole(args["max-blocks"], "--max-blocks", MAX_BLOCKS);
    const env = loadAgentEnv(io.env);
    const client = new AgentClient(agentUrl(args.url, env, config.port), agentCode(args, env));
    const hard = AbortSignal.timeout(waitSeconds * 1000 + HARD_SLACK_MS);
    const say = (text: string) => io.stderr.write(`argybargy: hook ${kind}: ${text}\n`);
    const work = kind === "claude-stop"
      ? stopHook(client, io, { filter: args.for as WakeFilter, waitSeconds, maxBlocks, stateDir: args["state-dir"] ?? tmpdir() }, hard)
      : contextHook(client, io, args.for as WakeFilter, waitSeconds, hard);
    // The hard timer: whatever hangs, the hook answers "nothing" in time and the session goes on.
    const timedOut = new Promise<string>((resolve) => hard.addEventListener("abort", () => resolve("gave up waiting (hard timer)"), { once: true }));
    const problem = await Promise.race([work.then(() => null, (err: Error) => err.message), timedOut]);
    if (problem) say(problem);
  },
});

const whole = (raw: string | undefined, flag: string, fallback: number): number => {
  if (raw === undefined) return fallback;
  if (!/^[0-9]+$/.test(raw.trim())) fail(`${flag} must be a whole number, got ${JSON.stringify(raw.slice(0, 40))}`);
  return Number(raw.trim());
};

async function readInput(io: CliIo): Promise<HookInput> {
  const text = io.readStdin ? await io.readStdin() : "";
  try {
    const v = text.trim() ? JSON.parse(text) : {};
    return v && typeof v === "object" && !Array.isArray(v) ? (v as HookInput) : {};
  } catch {
    return {};
  }
}

/**
 * Reads from the agent's read position, waiting up to `waitSeconds` for something that needs it.
 * Returns the burst (null when nothing needs it) and the queue, whose read position moves on.
 */
async function collect(client: AgentClient, filter: WakeFilter, waitSeconds: number, signal: AbortSignal) {
  const pos = await client.position(signal);
  const queue = new WakeQueue(pos.name, filter, pos.read_seq);
  const deadline = Date.now() + waitSeconds * 1000;
  // The backlog first (wait=0), then park for what is left of the wait, in whole seconds.
  for (let wait = 0; ; ) {
    const answer = await client.poll(queue.cursor, wait, signal);
    queue.add(answer.messages, answer.cursor, Date.now());
    const leftMs = deadline - Date.now();
    if (queue.waiting > 0 || answer.room.status === "closed" || leftMs <= 0) break;
    wait = Math.ceil(leftMs / 1000);
  }
  return { room: pos.room, name: pos.name, queue, burst: queue.take() };
}

/** Acknowledges what the session was handed (or, with nothing for it, what it could skip). */
async function acknowledge(client: AgentClient, queue: WakeQueue, burst: Burst | null, signal: AbortSignal): Promise<void> {
  const upTo = burst ? queue.handled(burst, Date.now()) : queue.idleAck();
  if (upTo !== null) await client.ack(upTo, signal);
}

interface StopOptions {
  filter: WakeFilter;
  waitSeconds: number;
  maxBlocks: number;
  stateDir: string;
}

/**
 * The Stop hook: blocks the stop with the pointer and the messages when something needs the
 * agent; lets the session stop when nothing does, or when `maxBlocks` consecutive blocks
 * (counted per session while Claude Code reports `stop_hook_active`) were reached.
 */
async function stopHook(client: AgentClient, io: CliIo, o: StopOptions, signal: AbortSignal): Promise<void> {
  const input = await readInput(io);
  const state = new BlockCount(o.stateDir, String(input.session_id ?? "no-session"), client.url);
  // A stop that no block of ours caused starts the count afresh.
  let blocks = input.stop_hook_active === true ? state.read() : 0;
  if (blocks >= o.maxBlocks) {
    state.write(0);
    io.stderr.write(`argybargy: hook claude-stop: ${blocks} blocks in a row; letting the session stop (raise --max-blocks to allow more)\n`);
    return;
  }
  const { room, name, queue, burst } = await collect(client, o.filter, o.waitSeconds, signal);
  if (!burst) {
    state.write(0);
    await acknowledge(client, queue, null, signal);
    return;
  }
  io.stdout.write(`${JSON.stringify({ decision: "block", reason: wakeBrief(room, name, burst.messages) })}\n`);
  state.write(++blocks);
  await acknowledge(client, queue, burst, signal);
}

/** UserPromptSubmit / SessionStart: the same messages as additional context, never a block. */
async function contextHook(client: AgentClient, io: CliIo, filter: WakeFilter, waitSeconds: number, signal: AbortSignal): Promise<void> {
  const input = await readInput(io);
  const event = typeof input.hook_event_name === "string" && input.hook_event_name ? input.hook_event_name : "UserPromptSubmit";
  const { room, name, queue, burst } = await collect(client, filter, waitSeconds, signal);
  if (burst) {
    io.stdout.write(`${JSON.stringify({ hookSpecificOutput: { hookEventName: event, additionalContext: wakeBrief(room, name, burst.messages) } })}\n`);
  }
  await acknowledge(client, queue, burst, signal);
}

/**
 * The Stop hook's consecutive-block count for one session and relay, in a small JSON file
 * (named by a hash, so neither the session id nor the URL shows in the name). Unreadable = 0.
 */
class BlockCount {
  private readonly path: string;
  constructor(dir: string, session: string, url: string) {
    const key = createHash("sha256").update(`${session}\u0000${url}`).digest("hex").slice(0, 24);
    this.path = join(dir, `argybargy-claude-stop-${key}.json`);
    mkdirSync(dir, { recursive: true });
  }

  read(): number {
    try {
      const n = JSON.parse(readFileSync(this.path, "utf8")).blocks;
      return Number.isSafeInteger(n) && n > 0 ? n : 0;
    } catch {
      return 0;
    }
  }

  write(blocks: number): void {
    const tmp = `${this.path}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify({ blocks }), { mode: 0o600 });
    renameSync(tmp, this.path);
  }
}
