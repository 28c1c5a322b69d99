import { describe, expect, test } from "bun:test";
import { createLogger } from "../../src/cli/log.ts";
import { loadConfig } from "../../src/config.ts";

/** A logger writing into an array, as the server's would write to stderr. */
function capture(level: "debug" | "info" | "warn" | "error", format: "text" | "json") {
  const out: string[] = [];
  const stream = { write: (s: string) => (out.push(s), true) } as unknown as NodeJS.WriteStream;
  return { log: createLogger(level, format, stream), out };
}

describe("server log", () => {
  test("json: one object per line with ts, level, msg and fields; an error keeps its stack under fields.error", () => {
    const { log, out } = capture("info", "json");
    log.info("peer connected: bob in #ops", { name: "bob", room: "ops" });
    log.warn("admin token regenerated; the old token no longer works");
    log.error("request 42 failed:", { request_id: "42" }, new TypeError("boom"));
    log.debug("not shown at info");
    expect(out.every((l) => l.endsWith("\n") && !l.slice(0, -1).includes("\n"))).toBe(true);
    const events = out.map((l) => JSON.parse(l));
    expect(events.map((e) => [e.level, e.msg])).toEqual([
      ["info", "peer connected: bob in #ops"],
      ["warn", "admin token regenerated; the old token no longer works"],
      ["error", "request 42 failed:"],
    ]);
    expect(events[0].fields).toEqual({ name: "bob", room: "ops" });
    expect(events[1].fields).toEqual({});
    expect(events[2].fields.request_id).toBe("42");
    expect(events[2].fields.error).toMatchObject({ name: "TypeError", message: "boom" });
    expect(events[2].fields.error.stack).toContain("log.test.ts");
    for (const e of events) expect(new Date(e.ts).toISOString()).toBe(e.ts);
  });

  test("text: one [level] line per event", () => {
    const { log, out } = capture("warn", "text");
    log.info("hidden");
    log.warn("disk is slow");
    expect(out.join("")).toMatch(/^\[warn\] .*disk is slow\n$/);
  });

  test("--log-format beats ARGYBARGY_LOG_FORMAT; a bad flag is an error, a bad variable a warning", () => {
    expect(loadConfig({}, { ARGYBARGY_LOG_FORMAT: "JSON" }).config.logFormat).toBe("json");
    expect(loadConfig({ logFormat: "text" }, { ARGYBARGY_LOG_FORMAT: "json" }).config.logFormat).toBe("text");
    expect(loadConfig({}, {}).config.logFormat).toBe("text");
    const bad = loadConfig({}, { ARGYBARGY_LOG_FORMAT: "xml" });
    expect(bad.config.logFormat).toBe("text");
    expect(bad.warnings).toEqual(['ARGYBARGY_LOG_FORMAT="xml" is not text or json; using text']);
    expect(() => loadConfig({ logFormat: "yaml" }, {})).toThrow('--log-format must be text or json, got "yaml"');
  });
});
