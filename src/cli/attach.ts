import { defineCommand } from "citty";
import { loadAgentEnv, type AgentEnv } from "../config.ts";
import { WAKE_FILTERS, wakeSummary, WakeQueue, type Burst, type Debounce, type WakeFilter } from "../relay/wake.ts";
import { AgentClient, agentArgs, agentCode, agentUrl, RelayCallError } from "./agent-client.ts";
import { burstBlock, burstEnv, burstPayload, startCommand, type BurstContext, type RunningCommand } from "./burst-exec.ts";
import { setupVerb } from "./context.ts";
import { Backoff, followAuto, pause, PollFeed, StreamFeed, type FeedEnd, type FeedUpdate } from "./feed.ts";
import { fail, type CliIo } from "./output.ts";

/** Default quiet gap that closes a burst: long enough for a flurry, short enough to feel live. */
const DEFAULT_DEBOUNCE_MS = 1500;
/** A burst is never held longer than this many debounce windows, however chatty the room. */
const MAX_HOLD_WINDOWS = 10;
/** CMD retries back off from --retry-ms up to this cap. */
const RETRY_CAP_MS = 60_000;

/** How attach follows the room: the stream where the relay has one, else the long-poll; or one of them only. */
export type Transport = "auto" | "stream" | "poll";

/** Everything one attach run needs, resolved from flags and environment. */
export interface AttachOptions {
  client: AgentClient;
  code: string;
  exec: string | undefined;
  filter: WakeFilter;
  debounce: Debounce;
  once: boolean;
  /** With `once`: give up (exit 0) when nothing needed the agent within this many ms. */
  timeoutMs: number | null;
  transport: Transport;
  passCode: boolean;
  retryMs: number;
  /** Stop a CMD that runs longer than this (null: no limit); its burst counts as failed. */
  execTimeoutMs: number | null;
  env: AgentEnv;
}

const whole = (raw: string | undefined, flag: string, fallback: number): number => {
  if (raw === undefined) return fallback;
  if (!/^[0-9]+$/.test(raw.trim())) fail(`${flag} must be a whole number, got ${JSON.stringify(raw.slice(0, 40))}`);
  return Number(raw.trim());
};

/** `argybargy attach`: wakes an idle agent by running CMD once per burst of messages that need it. */
export const attachCommand = defineCommand({
  meta: { name: "attach", description: "Follow a room as an agent and run a command (or print) when something needs it" },
  args: {
    ...agentArgs,
    exec: { type: "string", description: "Command to run per burst (through sh -c): messages as JSON on stdin, the pointer in $ARGYBARGY_SUMMARY" },
    for: { type: "string", default: "me", description: "What wakes it: me (DMs, questions for it, open questions), questions, all" },
    "debounce-ms": { type: "string", description: `Quiet gap in ms that closes a burst (default ${DEFAULT_DEBOUNCE_MS})` },
    once: { type: "boolean", description: "Handle one burst, then exit (cron, scripts)" },
    timeout: { type: "string", description: "With --once: exit 0 after this many seconds when nothing arrived" },
    transport: { type: "string", default: "auto", description: "auto (the stream, else the long-poll), stream or poll" },
    "pass-code": { type: "boolean", description: "Give CMD the code in ARGYBARGY_CODE (off: CMD never sees it)" },
    "retry-ms": { type: "string", description: "First retry delay in ms after CMD fails, doubling to 60000 (default 1000)" },
    "exec-timeout": { type: "string", description: "Stop CMD (and what it started) after this many seconds; the burst is retried (default: no limit)" },
  },
  async run(ctx) {
    const { io, config } = setupVerb(ctx);
    const { args } = ctx;
    const env = loadAgentEnv(io.env);
    if (!WAKE_FILTERS.includes(args.for as WakeFilter)) fail(`--for must be one of ${WAKE_FILTERS.join(", ")}, got ${JSON.stringify(args.for)}`);
    if (!["auto", "stream", "poll"].includes(args.transport)) fail(`--transport must be auto, stream or poll, got ${JSON.stringify(args.transport)}`);
    if (args.timeout !== undefined && !args.once) fail("--timeout only applies with --once");
    if (args.exec !== undefined && !args.exec.trim()) fail("--exec needs a command");
    const debounceMs = whole(args["debounce-ms"], "--debounce-ms", DEFAULT_DEBOUNCE_MS);
    const code = agentCode(args, env);
    const options: AttachOptions = {
      client: new AgentClient(agentUrl(args.url, env, config.port), code),
      code,
      exec: args.exec,
      filter: args.for as WakeFilter,
      debounce: { debounceMs, maxHoldMs: Math.max(debounceMs * MAX_HOLD_WINDOWS, 1000) },
      once: Boolean(args.once),
      timeoutMs: args.timeout === undefined ? null : whole(args.timeout, "--timeout", 0) * 1000,
      transport: args.transport as Transport,
      passCode: Boolean(args["pass-code"]),
      retryMs: Math.max(1, whole(args["retry-ms"], "--retry-ms", 1000)),
      execTimeoutMs: args["exec-timeout"] === undefined ? null : Math.max(1, whole(args["exec-timeout"], "--exec-timeout", 0)) * 1000,
      env,
    };
    const end = await attach(options, io);
    if (end.code !== 0) fail(end.why ?? "attach stopped", end.code);
  },
});

/** How attach ended: the exit code and, for a failure, the one line that says why. */
export interface AttachEnd {
  code: number;
  why?: string;
}

/**
 * Runs attach until the room closes (0), a signal or `io.stop` (0), `--once` is done (0), the
 * code is refused (1) or, with `--once`, CMD fails (1).
 */
export async function attach(o: AttachOptions, io: CliIo): Promise<AttachEnd> {
  const log = (text: string) => io.stderr.write(`argybargy: attach: ${text}\n`);
  const stop = new AbortController();
  const stopped = whenStopped(io.stop, () => stop.abort());
  try {
    const start = await startPosition(o.client, log, stop.signal);
    if (start === null) return { code: 0 };
    if ("code" in start) return start;
    return await new AttachRun(o, io, start, log, stop).loop();
  } finally {
    stopped.dispose();
  }
}

/**
 * Calls `onStop` at the first SIGINT/SIGTERM or when `signal` aborts; `dispose` removes the
 * handlers again (so a second Ctrl+C after attach ended is the default one).
 */
function whenStopped(signal: AbortSignal | undefined, onStop: () => void): { dispose(): void } {
  const fire = () => {
    dispose();
    onStop();
  };
  const dispose = () => {
    process.off("SIGINT", fire);
    process.off("SIGTERM", fire);
    signal?.removeEventListener("abort", fire);
  };
  process.on("SIGINT", fire);
  process.on("SIGTERM", fire);
  if (signal?.aborted) fire();
  else signal?.addEventListener("abort", fire, { once: true });
  return { dispose };
}

/** The position to start from, retried through a relay that is down; a failure when the code is refused, null when stopped. */
async function startPosition(client: AgentClient, log: (t: string) => void, signal: AbortSignal): Promise<{ room: string; name: string; read_seq: number } | AttachEnd | null> {
  const backoff = new Backoff();
  while (!signal.aborted) {
    try {
      return await client.position(signal);
    } catch (err) {
      if (signal.aborted) break;
      if (err instanceof RelayCallError && !err.transient) {
        return { code: 1, why: err.unauthorized ? `the relay at ${client.url} refused the code (HTTP 401); ask the operator for a valid one` : err.message };
      }
      const delay = backoff.next();
      log(`${(err as Error).message}; retrying in ${(delay / 1000).toFixed(1)} s`);
      await pause(delay, signal);
    }
  }
  return null;
}

/** What the loop does next. */
type Step = "go on" | "done" | "failed";

class AttachRun {
  private readonly queue: WakeQueue;
  private readonly ctx: Omit<BurstContext, "summary">;
  private kick: PromiseWithResolvers<void> | null = null;
  /** Something happened since the loop last looked (an arrival, the feed's end, a stop). */
  private dirty = false;
  private feedEnd: FeedEnd | null = null;
  private current: RunningCommand | null = null;
  private ackWanted = 0;
  private ackSent: number;

  constructor(private readonly o: AttachOptions, private readonly io: CliIo, start: { room: string; name: string; read_seq: number }, private readonly log: (t: string) => void, private readonly stop: AbortController) {
    this.queue = new WakeQueue(start.name, o.filter, start.read_seq);
    this.ctx = { url: o.client.url, room: start.room, name: start.name };
    this.ackSent = start.read_seq;
  }

  async loop(): Promise<AttachEnd> {
    const { room, name } = this.ctx;
    this.log(`following #${room} as ${name} from seq ${this.queue.cursor} (for ${this.o.filter}; ${this.o.exec ? "running the command" : "printing"} per burst)`);
    // A stop abandons the running command (its burst is not acknowledged unless it still exits 0).
    this.stop.signal.addEventListener("abort", () => {
      this.current?.terminate();
      this.wake();
    }, { once: true });
    const feed = this.follow().then((end) => {
      this.feedEnd = end;
      this.wake();
    });
    const deadline = this.o.timeoutMs === null ? null : Date.now() + this.o.timeoutMs;
    const retry = new Backoff(this.o.retryMs, RETRY_CAP_MS);
    let step: Step = "go on";
    while (step === "go on" && !this.stop.signal.aborted) step = await this.step(deadline, retry);
    const code = step === "failed" ? 1 : 0;
    this.stop.abort();
    await feed;
    await this.flushAck(null);
    if (this.feedEnd?.kind === "unauthorized") return { code: 1, why: `${this.feedEnd.message}; ask the operator for a valid code` };
    if (this.feedEnd?.kind === "unavailable") return { code: 1, why: `${this.o.client.url} has no /messages/stream (HTTP 404); use --transport auto or poll` };
    if (this.feedEnd?.kind === "room_closed") {
      this.log(`#${room} was closed${this.feedEnd.closedBy ? ` by ${this.feedEnd.closedBy}` : ""}; stopping`);
    }
    return code === 0 ? { code } : { code, why: "the command failed; the burst stays unread for the next run" };
  }

  /** One turn of the loop: wait for arrivals or the debounce window, or hand over a burst. */
  private async step(deadline: number | null, retry: Backoff): Promise<Step> {
    const due = this.queue.dueInMs(Date.now(), this.o.debounce);
    const closing = this.feedEnd !== null;
    if (due === null) {
      await this.flushAck(this.queue.idleAck());
      if (closing || (deadline !== null && Date.now() >= deadline)) return "done";
      await this.idle(deadline === null ? null : deadline - Date.now());
      return "go on";
    }
    // A closing room is handled at once, without waiting for the debounce window.
    if (due > 0 && !closing) {
      await this.idle(due);
      return "go on";
    }
    const burst = this.queue.take()!;
    if (await this.handle(burst)) {
      retry.reset();
      await this.flushAck(this.queue.handled(burst, Date.now()));
      return this.o.once ? "done" : "go on";
    }
    if (this.o.once && !this.stop.signal.aborted) return "failed";
    if (this.stop.signal.aborted || closing) return "done";
    const delay = retry.next();
    this.log(`retrying the burst in ${(delay / 1000).toFixed(1)} s (nothing was acknowledged)`);
    await pause(delay, this.stop.signal);
    return "go on";
  }

  private follow(): Promise<FeedEnd> {
    const { client } = this.o;
    const onUpdate = (u: FeedUpdate) => {
      this.queue.add(u.messages, u.cursor, Date.now());
      this.wake();
    };
    const poll = new PollFeed(client, this.log);
    if (this.o.transport === "poll") return poll.follow(this.queue.cursor, onUpdate, this.stop.signal);
    const stream = new StreamFeed(client, this.log);
    if (this.o.transport === "stream") return stream.follow(this.queue.cursor, onUpdate, this.stop.signal);
    return followAuto(stream, poll, () => this.queue.cursor, onUpdate, this.stop.signal, this.log);
  }

  private wake(): void {
    this.dirty = true;
    this.kick?.resolve();
  }

  /** Waits for an arrival, the feed's end, a stop, or `ms` (null: no limit); at once if one came meanwhile. */
  private async idle(ms: number | null): Promise<void> {
    if (!this.dirty) {
      this.kick = Promise.withResolvers<void>();
      let timer: ReturnType<typeof setTimeout> | undefined;
      const waits: Promise<void>[] = [this.kick.promise];
      if (ms !== null) waits.push(new Promise((r) => (timer = setTimeout(r, Math.max(0, ms)))));
      await Promise.race(waits);
      clearTimeout(timer);
      this.kick = null;
    }
    this.dirty = false;
  }

  /** Runs CMD for the burst (or prints it); true when it was handled. */
  private async handle(burst: Burst): Promise<boolean> {
    const ctx: BurstContext = { ...this.ctx, summary: wakeSummary(this.ctx.room, this.ctx.name, burst.messages) };
    const payload = burstPayload(burst, ctx);
    if (!this.o.exec) {
      this.io.stdout.write(this.io.isTTY ? burstBlock(burst, ctx) : `${JSON.stringify(payload)}\n`);
      return true;
    }
    const env = burstEnv(this.o.env.inherited, burst, ctx, this.o.code, this.o.passCode);
    const running = startCommand(this.o.exec, `${JSON.stringify(payload)}\n`, env, this.io);
    this.current = running;
    let timedOut = false;
    const limit = this.o.execTimeoutMs === null ? undefined : setTimeout(() => {
      timedOut = true;
      running.terminate();
    }, this.o.execTimeoutMs);
    const exit = await running.exited;
    clearTimeout(limit);
    this.current = null;
    if (timedOut) this.log(`the command ran longer than ${this.o.execTimeoutMs! / 1000} s and was stopped`);
    if (exit === 0) return true;
    this.log(`the command exited ${exit} for ${ctx.summary}`);
    return false;
  }

  /** Raises the read position to the highest wanted so far; a failure is retried on the next call. */
  private async flushAck(upTo: number | null): Promise<void> {
    if (upTo !== null) this.ackWanted = Math.max(this.ackWanted, upTo);
    if (this.ackWanted <= this.ackSent) return;
    try {
      await this.o.client.ack(this.ackWanted);
      this.ackSent = this.ackWanted;
    } catch (err) {
      this.log(`could not record the read position ${this.ackWanted} (${(err as Error).message}); will retry`);
    }
  }
}
