import { createConsola, type ConsolaInstance, type LogObject } from "consola";
import type { LogFormat, LogLevel } from "../config.ts";

const LEVELS: Record<LogLevel, number> = { error: 0, warn: 1, info: 3, debug: 4 };

/**
 * The server log on stderr at the configured level: `text` is one `[warn] …` line per event (a
 * stack only under an error); `json` is one object per line, `{ts, level, msg, fields}`, for log
 * shippers. Never given a secret: callers pass names, rooms and request ids, never codes or tokens.
 */
export function createLogger(level: LogLevel, format: LogFormat = "text", stream: NodeJS.WriteStream = process.stderr): ConsolaInstance {
  // The basic reporter even on a terminal: the fancy one frames warnings and errors with blank
  // lines. `fancy` is missing from the browser typings the type checker resolves (see output.ts).
  const options = {
    level: LEVELS[level],
    fancy: false,
    stdout: stream,
    stderr: stream,
    formatOptions: { date: true, colors: false, compact: true },
    ...(format === "json" ? { reporters: [{ log: (obj: LogObject) => stream.write(`${jsonLine(obj)}\n`) }] } : {}),
  };
  return createConsola(options);
}

/** One log event as a JSON line: strings join into `msg`, objects merge into `fields`, an Error becomes `fields.error`. */
export function jsonLine(obj: LogObject): string {
  const words: string[] = [];
  const fields: Record<string, unknown> = {};
  for (const arg of obj.args ?? []) {
    if (arg instanceof Error) fields.error = { name: arg.name, message: arg.message, stack: arg.stack };
    else if (arg !== null && typeof arg === "object") Object.assign(fields, arg);
    else words.push(String(arg));
  }
  if (obj.message) words.unshift(obj.message);
  return JSON.stringify({ ts: new Date(obj.date).toISOString(), level: obj.type, msg: words.join(" "), fields });
}
