import { createConsola, type ConsolaInstance } from "consola";
import type { LogLevel } from "../config.ts";

const LEVELS: Record<LogLevel, number> = { error: 0, warn: 1, info: 3, debug: 4 };

/** The server log: one line per event on stderr at the configured level. Never given a secret. */
export function createLogger(level: LogLevel): ConsolaInstance {
  return createConsola({
    level: LEVELS[level],
    stdout: process.stderr,
    stderr: process.stderr,
    formatOptions: { date: true, colors: false, compact: true },
  });
}
