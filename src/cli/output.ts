import { createConsola, type ConsolaInstance } from "consola";

/** Exit code of a usage error (SPEC §8). */
export const USAGE_EXIT = 2;

/** Thrown by `fail`, so in-process tests can observe the exit code instead of losing the process. */
export class CliExit extends Error {
  constructor(readonly code: number, message: string) {
    super(message);
  }
}

/** Ends the command with one line on stderr and exit 1 (SPEC §8), or `code` when given. */
export function fail(message: string, code = 1): never {
  throw new CliExit(code, message);
}

/** The one method of a stream the CLI needs (process.stdout, or a test's capture). */
export interface Writer {
  write(chunk: string): unknown;
}

/**
 * What a CLI run talks to. main.ts passes the process's streams; tests pass captures.
 * `env` feeds loadConfig (undefined: the process environment, read only by config.ts).
 */
export interface CliIo {
  stdout: Writer;
  stderr: Writer;
  env?: Record<string, string | undefined>;
  /** stdout is a terminal: colour and boxes, and `serve` may show the admin token. */
  isTTY: boolean;
  /** Aborting it stops a running `serve`/`up` like SIGINT does (in-process tests). */
  stop?: AbortSignal;
  /** Reads all of stdin (the hooks' JSON input); absent means no input. */
  readStdin?: () => Promise<string>;
}

/** Removes ANSI colour codes (citty colours its usage text without looking for a terminal). */
export function stripAnsi(text: string): string {
  return text.replace(/\x1b\[[0-9;]*m/g, "");
}

/**
 * A verb's stdout: plain lines when piped or under CI/NO_COLOR, consola's icons and boxes on a
 * terminal. Warnings go to stderr. Nothing here ever logs; it prints what the user asked for.
 */
export class Output {
  private fancyUi: ConsolaInstance | null = null;

  constructor(private readonly io: CliIo, readonly plain: boolean) {}

  line(text = ""): void {
    this.io.stdout.write(`${text}\n`);
  }

  /** One JSON document for scripts (`--json`). */
  json(value: unknown): void {
    this.line(JSON.stringify(value, null, 2));
  }

  /** A one-line warning on stderr that does not end the command. */
  warn(text: string): void {
    this.io.stderr.write(`argybargy: warning: ${text}\n`);
  }

  /** A status line: with a tick on a terminal, bare when plain. */
  success(text: string): void {
    if (this.plain) this.line(text);
    else this.ui.success(text);
  }

  /** A line saying something is under way (a spinner-like icon on a terminal). */
  start(text: string): void {
    if (this.plain) this.line(text);
    else this.ui.start(text);
  }

  /** A titled block: a unicode box on a terminal, the title and indented lines when plain. */
  box(title: string, lines: string[]): void {
    if (this.plain) {
      this.line(title);
      for (const l of lines) this.line(l ? `  ${l}` : "");
      return;
    }
    this.ui.box({ title, message: lines.join("\n"), style: { borderColor: "cyan" } });
  }

  /** Rewrites the current terminal line (progress); does nothing when plain. */
  progress(text: string | null): void {
    if (this.plain) return;
    this.io.stdout.write(text === null ? "\r\x1b[2K" : `\r\x1b[2K${text}`);
  }

  private get ui(): ConsolaInstance {
    // level 3 explicitly: consola's default drops to warn under NODE_ENV=test (STACK.md pitfall 14).
    // `fancy` is an option of consola's node build, which Bun loads; the type checker resolves
    // the browser typings (no "node" condition), hence the options object outside the call.
    const options = { level: 3, fancy: true, stdout: this.io.stdout as NodeJS.WriteStream, stderr: this.io.stderr as NodeJS.WriteStream };
    return (this.fancyUi ??= createConsola(options));
  }
}

/** Columns padded to their widest cell, two spaces apart (the `rooms` and `codes` listings). */
export function table(rows: string[][]): string[] {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!))).join("  ").trimEnd());
}
