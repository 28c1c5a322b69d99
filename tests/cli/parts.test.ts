import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { checkArgs } from "../../src/cli/args.ts";
import { ControlClient, roomPath } from "../../src/cli/client.ts";
import { CliExit, Output, table } from "../../src/cli/output.ts";
import { findCloudflared, findTunnelUrl, Tunnel } from "../../src/cli/tunnel.ts";
import { announceTunnel } from "../../src/cli/up.ts";
import { DataDir } from "../../src/store/files.ts";
import { tempDir } from "../helpers.ts";
import { serverOn } from "./run-cli.ts";

/** The CliExit a call ends with. */
async function exitOf(fn: () => unknown): Promise<CliExit> {
  try {
    await fn();
  } catch (err) {
    if (err instanceof CliExit) return err;
    throw err;
  }
  throw new Error("did not fail");
}

describe("findTunnelUrl", () => {
  test("finds the first quick-tunnel URL in cloudflared's boxed announcement", () => {
    const log = "2026-11-24T08:00:01Z INF |  https://calm-river-fancy-words.trycloudflare.com                    |\n";
    expect(findTunnelUrl(log)).toBe("https://calm-river-fancy-words.trycloudflare.com");
    expect(findTunnelUrl("a https://one.trycloudflare.com b https://two.trycloudflare.com")).toBe("https://one.trycloudflare.com");
  });

  test("ignores the API host, plain http, and other domains", () => {
    expect(findTunnelUrl('ERR failed: Post "https://api.trycloudflare.com/tunnel": no such host')).toBeNull();
    expect(findTunnelUrl("http://x.trycloudflare.com https://x.example.com trycloudflare.com")).toBeNull();
    expect(findTunnelUrl("https://api.trycloudflare.com then https://real-one.trycloudflare.com")).toBe("https://real-one.trycloudflare.com");
  });

  test("findCloudflared looks only on the PATH it is given", () => {
    const dir = tempDir();
    try {
      expect(findCloudflared(dir.path)).toBeNull();
      writeFileSync(join(dir.path, "cloudflared"), "#!/bin/sh\n", { mode: 0o755 });
      expect(findCloudflared(dir.path)).toBe(join(dir.path, "cloudflared"));
    } finally {
      dir.cleanup();
    }
  });
});

describe("checkArgs", () => {
  const def = {
    room: { type: "positional" as const, required: true },
    to: { type: "string" as const },
    json: { type: "boolean" as const },
    maxWait: { type: "string" as const },
  };
  test("accepts declared flags, their --x=v and --no-x forms, kebab-case names and -- positionals", () => {
    expect(() => checkArgs(["lab", "--to", "bob", "--json"], def)).not.toThrow();
    expect(() => checkArgs(["--to=bob", "--no-json", "lab"], def)).not.toThrow();
    expect(() => checkArgs(["lab", "--max-wait", "5", "--maxWait=5"], def)).not.toThrow();
    expect(() => checkArgs(["--", "-lab"], def)).not.toThrow();
    expect(() => checkArgs(["lab", "--to", "--json"], def)).not.toThrow();
  });

  test("usage errors: unknown flag, --no- of a value flag, missing value, extra positional", async () => {
    const cases: [string[], string][] = [
      [["lab", "--from", "x"], "unknown option --from"],
      [["lab", "--no-to"], "unknown option --no-to"],
      [["lab", "--to"], "option --to needs a value"],
      [["lab", "more"], 'unexpected argument "more"'],
      [["lab", "--", "more"], 'unexpected argument "more"'],
    ];
    for (const [argv, message] of cases) {
      const err = await exitOf(() => checkArgs(argv, def));
      expect([err.code, err.message]).toEqual([2, message]);
    }
  });
});

describe("Output", () => {
  const capture = () => {
    let text = "";
    return { io: { stdout: { write: (s: string) => (text += s) }, stderr: { write: (s: string) => (text += s) }, isTTY: true }, text: () => text };
  };

  test("plain: a titled block is the title and indented lines", () => {
    const c = capture();
    new Output(c.io, true).box("Argybargy is LIVE", ["Public URL : x", "", "Ctrl+C to stop"]);
    expect(c.text()).toBe("Argybargy is LIVE\n  Public URL : x\n\n  Ctrl+C to stop\n");
  });

  test("on a terminal: a unicode box holding every line", () => {
    const c = capture();
    new Output(c.io, false).box("Argybargy is LIVE", ["Public URL : x", "Ctrl+C to stop"]);
    expect(c.text()).toContain("╭");
    expect(c.text()).toContain("Argybargy is LIVE");
    expect(c.text()).toContain("Public URL : x");
    expect(c.text()).toContain("Ctrl+C to stop");
  });

  test("progress lines are drawn only on a terminal", () => {
    const plain = capture();
    new Output(plain.io, true).progress("waiting… 3 s");
    expect(plain.text()).toBe("");
    const tty = capture();
    new Output(tty.io, false).progress("waiting… 3 s");
    expect(tty.text()).toContain("waiting… 3 s");
  });

  test("table pads every column but the last", () => {
    expect(table([["ROOM", "STATUS"], ["a-long-room", "open"]])).toEqual(["ROOM         STATUS", "a-long-room  open"]);
  });
});

describe("ControlClient", () => {
  const dir = tempDir("argy-cli-client-");
  const dataDir = new DataDir(dir.path);
  let hang: ReturnType<typeof Bun.serve>;
  let text502: ReturnType<typeof Bun.serve>;
  beforeAll(() => {
    writeFileSync(dataDir.tokenPath, "tok");
    hang = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Promise<Response>(() => {}) });
    text502 = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response("Bad Gateway", { status: 502 }) });
  });
  afterAll(() => {
    hang.stop(true);
    text502.stop(true);
    dir.cleanup();
  });

  test("gives up after its timeout with one line", async () => {
    const client = new ControlClient(`http://127.0.0.1:${hang.port}`, dataDir, 200);
    const t0 = performance.now();
    const err = await exitOf(() => client.public("/health"));
    expect(performance.now() - t0).toBeLessThan(2000);
    expect(err.code).toBe(1);
    expect(err.message).toBe(`could not reach http://127.0.0.1:${hang.port} (no answer within 0.2 s); is the bridge running? Start it with \`argybargy up\` or pass --url`);
  });

  test("an error without a JSON envelope still gives method, URL and status", async () => {
    const base = `http://127.0.0.1:${text502.port}`;
    const err = await exitOf(() => new ControlClient(base, dataDir).admin("GET", "/admin/state"));
    expect(err.message).toBe(`GET ${base}/admin/state failed: HTTP 502 no error body`);
  });

  test("room paths are URL-encoded", () => {
    expect(roomPath("a b/c", "close")).toBe("/admin/rooms/a%20b%2Fc/close");
  });
});

describe("announceTunnel", () => {
  test("a slow tunnel: the local panel first, then url.txt and the public panel when the URL arrives", async () => {
    const dir = tempDir("argy-cli-slow-");
    const server = await serverOn(dir.path);
    const bin = join(dir.path, "cloudflared");
    writeFileSync(bin, "#!/bin/sh\nsleep 0.6\necho 'INF |  https://late-tunnel.trycloudflare.com  |' >&2\nexec sleep 30\n", { mode: 0o755 });
    let text = "";
    const out = new Output({ stdout: { write: (s: string) => (text += s) }, stderr: { write: (s: string) => (text += s) }, isTTY: false }, true);
    const tunnel = Tunnel.start(bin, server.port);
    const stop = Promise.withResolvers<string>();
    try {
      await announceTunnel(out, server, tunnel, stop.promise, 100);
      expect(text).toContain("The tunnel has reported no URL after 0.1 s");
      expect(text).toContain("local only — no tunnel");
      expect(existsSync(server.dataDir.urlPath)).toBe(false);
      const deadline = Date.now() + 5000;
      while (!existsSync(server.dataDir.urlPath) && Date.now() < deadline) await Bun.sleep(20);
      expect(readFileSync(server.dataDir.urlPath, "utf8")).toBe("https://late-tunnel.trycloudflare.com\n");
      expect(text).toContain("Public URL      : https://late-tunnel.trycloudflare.com");
    } finally {
      stop.resolve("abort");
      await tunnel.stop(1000);
      await server.stop();
      dir.cleanup();
    }
  });
});
