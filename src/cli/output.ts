/** Prints a line to stdout (command output, never log lines). */
export function out(line = ""): void {
  process.stdout.write(`${line}\n`);
}

/** Exit code of a usage error (SPEC §8). */
export const USAGE_EXIT = 2;

/** Thrown by `fail`, so in-process tests can observe the exit code instead of losing the process. */
export class CliExit extends Error {
  constructor(readonly code: number, message: string) {
    super(message);
  }
}

/** Ends the command with one line on stderr and exit 1 (SPEC §8). */
export function fail(message: string, code = 1): never {
  throw new CliExit(code, message);
}
