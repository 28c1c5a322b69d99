import type { Burst } from "../relay/wake.ts";
import { stripAnsi, type CliIo } from "./output.ts";

/** What a burst handler is told: who is woken, where, and the pointer. */
export interface BurstContext {
  url: string;
  room: string;
  name: string;
  summary: string;
}

/** The JSON a CMD reads on stdin, and what attach prints without `--exec` (one line per burst). */
export function burstPayload(burst: Burst, ctx: BurstContext) {
  return {
    room: ctx.room,
    name: ctx.name,
    url: ctx.url,
    summary: ctx.summary,
    seq: newestSeq(burst),
    up_to: burst.upTo,
    messages: burst.messages,
  };
}

/** The newest seq among the burst's messages (ARGYBARGY_SEQ). */
export function newestSeq(burst: Burst): number {
  return burst.messages.reduce((high, m) => Math.max(high, m.seq), 0);
}

/**
 * The environment CMD runs with: attach's own, minus the code (unless `passCode`), plus
 * ARGYBARGY_SUMMARY, _URL, _ROOM, _NAME and _SEQ.
 */
export function burstEnv(inherited: Readonly<Record<string, string>>, burst: Burst, ctx: BurstContext, code: string, passCode: boolean): Record<string, string> {
  const env: Record<string, string> = { ...inherited };
  delete env.ARGYBARGY_CODE;
  delete env.ARGYBARGY_CODE_FILE;
  if (passCode) env.ARGYBARGY_CODE = code;
  return {
    ...env,
    ARGYBARGY_SUMMARY: ctx.summary,
    ARGYBARGY_URL: ctx.url,
    ARGYBARGY_ROOM: ctx.room,
    ARGYBARGY_NAME: ctx.name,
    ARGYBARGY_SEQ: String(newestSeq(burst)),
  };
}

/** How long a stopped CMD may take to exit before its process group gets SIGKILL. */
const KILL_GRACE_MS = 5000;
/** How long output is still copied after CMD exits. */
const OUTPUT_GRACE_MS = 1000;

/** A running CMD: its exit code once it ends, and a way to ask it to stop. */
export interface RunningCommand {
  exited: Promise<number>;
  terminate(): void;
}

/**
 * Starts `command` through the platform shell (so recipes may quote and use $ARGYBARGY_SUMMARY),
 * writes `stdin` to it and copies its output to attach's streams. A command that cannot start
 * counts as a failure (exit 127), never a crash.
 */
export function startCommand(command: string, stdin: string, env: Record<string, string>, io: CliIo): RunningCommand {
  const argv = process.platform === "win32" ? ["cmd.exe", "/d", "/s", "/c", command] : ["/bin/sh", "-c", command];
  let proc: Bun.Subprocess<"pipe", "pipe", "pipe">;
  try {
    // Its own process group, so a stop reaches everything it started (a shell's children too).
    proc = Bun.spawn(argv, { env, stdin: "pipe", stdout: "pipe", stderr: "pipe", detached: process.platform !== "win32" });
  } catch (err) {
    io.stderr.write(`argybargy: attach: cannot start the command (${(err as Error).message})\n`);
    return { exited: Promise.resolve(127), terminate: () => {} };
  }
  // A command that never reads its stdin may close it early: that is its business, not an error.
  void (async () => {
    try {
      proc.stdin.write(stdin);
      await proc.stdin.end();
    } catch {}
  })();
  const copy = async (from: ReadableStream<Uint8Array>, to: CliIo["stdout"]) => {
    const decoder = new TextDecoder();
    for await (const chunk of from) to.write(decoder.decode(chunk, { stream: true }));
  };
  const copied = Promise.all([copy(proc.stdout, io.stdout), copy(proc.stderr, io.stderr)]).catch(() => {});
  const signalGroup = (sig: NodeJS.Signals) => {
    try {
      if (process.platform === "win32") proc.kill(sig);
      else process.kill(-proc.pid, sig);
    } catch {}
  };
  let killer: ReturnType<typeof setTimeout> | undefined;
  return {
    exited: proc.exited.then(async (code) => {
      clearTimeout(killer);
      // A grandchild left behind may hold the pipes open: stop copying soon after CMD itself exits.
      await Promise.race([copied, new Promise((r) => setTimeout(r, OUTPUT_GRACE_MS))]);
      return code;
    }),
    terminate: () => {
      signalGroup("SIGTERM");
      killer = setTimeout(() => signalGroup("SIGKILL"), KILL_GRACE_MS);
    },
  };
}

/** A burst as a readable block on a terminal (attach without `--exec`). */
export function burstBlock(burst: Burst, ctx: BurstContext): string {
  const lines = [`── ${ctx.summary}`];
  for (const m of burst.messages) {
    const to = m.to === "all" ? "all" : m.to === ctx.name ? "you" : m.to;
    lines.push(`  #${m.seq} ${m.from} → ${to} · expects ${m.expects_reply_resolved}`);
    // Message text is someone else's: no escape sequence of it reaches the terminal.
    for (const l of stripAnsi(m.text).replace(/[\x00-\x08\x0b-\x1f\x7f-\x9f]/g, "").split("\n")) lines.push(`    ${l}`);
  }
  return `${lines.join("\n")}\n`;
}
