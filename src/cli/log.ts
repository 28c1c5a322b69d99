import { createConsola, type ConsolaInstance } from "consola";
import type { LogLevel } from "../config.ts";

const LEVELS: Record<LogLevel, number> = { error: 0, warn: 1, info: 3, debug: 4 };

/**
 * The server log: one line per event on stderr at the configured level (`[warn] …`), a stack
 * only under an error. Never given a secret.
 */
export function createLogger(level: LogLevel): ConsolaInstance {
  // The basic reporter even on a terminal: the fancy one frames warnings and errors with blank
  // lines. `fancy` is missing from the browser typings the type checker resolves (see output.ts).
  const options = {
    level: LEVELS[level],
    fancy: false,
    stdout: process.stderr,
    stderr: process.stderr,
    formatOptions: { date: true, colors: false, compact: true },
  };
  return createConsola(options);
}
