import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { existsSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { RunningServer } from "../../src/cli/serve.ts";
import { tempDir } from "../helpers.ts";
import { cli, cliEnv, type CliResult } from "./run-cli.ts";
import { admin, eventually, invite, overlapped, position, relayOn, runs, say, standIn } from "./stand-ins.ts";

/**
 * `argybargy attach` against a real relay, with a stand-in agent on PATH that records how it
 * was woken (arguments, stdin, ARGYBARGY_* environment) and never overlaps itself.
 */

let dir: ReturnType<typeof tempDir>;
let server: RunningServer;
let code: string;
let bin: string;
let log: string;
const running: { stop: AbortController; done: Promise<CliResult> }[] = [];

beforeEach(async () => {
  dir = tempDir("argy-attach-");
  server = await relayOn(join(dir.path, "data"));
  code = await invite(server, "codex", "build");
  await invite(server, "bob", "build");
  bin = join(dir.path, "bin");
  log = join(dir.path, "log");
  standIn(bin, log);
});

afterEach(async () => {
  for (const r of running.splice(0)) {
    r.stop.abort();
    await r.done;
  }
  await server.stop();
  dir.cleanup();
});

/** The transports to run the wake tests over: the long-poll always, the SSE stream where this relay has one. */
const TRANSPORTS = existsSync(join(import.meta.dir, "..", "..", "src", "http", "stream-routes.ts")) ? ["poll", "stream"] : ["poll"];
let transport = "auto";

/** Starts attach in-process; `extra` are more flags. */
function attach(extra: string[], env: Record<string, string> = {}, url = server.url) {
  const stop = new AbortController();
  const defaults = extra.includes("--debounce-ms") ? [] : ["--debounce-ms", "300"];
  const argv = ["attach", "--url", url, "--transport", transport, ...defaults, "--retry-ms", "100", ...extra];
  const done = cli(argv, cliEnv(join(dir.path, "data"), { ARGYBARGY_CODE: code, PATH: `${bin}:/usr/bin:/bin`, ...env }), { stop: stop.signal });
  const handle = { stop, done };
  running.push(handle);
  return handle;
}

const seqsOf = (all = runs(log)) => all.flatMap((r) => r.stdin.messages.map((m: any) => m.seq));

for (const over of TRANSPORTS) describe(`attach --exec over the ${over === "poll" ? "long-poll" : "stream"}`, () => {
  beforeEach(() => void (transport = over));
  afterEach(() => void (transport = "auto"));

  test("a DM wakes the command once, with the message on stdin and the pointer in the environment; the read position follows", async () => {
    attach(["--exec", "fake-agent --resume s1 \"$ARGYBARGY_SUMMARY\""]);
    await Bun.sleep(200);
    const seq = await say(server, "build", "bob", "can you review #12?", { to: "codex" });
    await eventually(() => runs(log).length === 1, "one run");
    await Bun.sleep(600);
    const all = runs(log);
    expect(all).toHaveLength(1);
    const [run] = all;
    expect(run!.args).toEqual(["--resume", "s1", `1 thing needs you in #build: bob asked you (#${seq})`]);
    expect(run!.stdin).toMatchObject({ room: "build", name: "codex", url: server.url, seq, up_to: seq });
    expect(run!.stdin.messages).toEqual([expect.objectContaining({ seq, from: "bob", to: "codex", text: "can you review #12?", expects_reply_resolved: "codex" })]);
    expect(run!.env).toMatchObject({ ARGYBARGY_ROOM: "build", ARGYBARGY_NAME: "codex", ARGYBARGY_URL: server.url, ARGYBARGY_SEQ: String(seq) });
    expect(run!.env.ARGYBARGY_CODE).toBeUndefined();
    await eventually(async () => (await position(server.url, code)).read_seq === seq, "the ack");
  }, 30_000);

  test("--pass-code hands the command the code", async () => {
    attach(["--exec", "fake-agent", "--pass-code"]);
    await Bun.sleep(200);
    await say(server, "build", "bob", "ping", { to: "codex" });
    await eventually(() => runs(log).length === 1, "one run");
    expect(runs(log)[0]!.env.ARGYBARGY_CODE).toBe(code);
  }, 30_000);

  test("20 messages within a second wake it once or twice, never overlapping, each message exactly once", async () => {
    attach(["--exec", "fake-agent"], { STANDIN_SLEEP: "0.3" });
    await Bun.sleep(200);
    const sent: number[] = [];
    for (let i = 0; i < 20; i++) {
      sent.push(await say(server, "build", "bob", `part ${i}`, { to: "codex" }));
      await Bun.sleep(40);
    }
    await eventually(() => seqsOf().length >= 20, "all 20 delivered");
    await Bun.sleep(800);
    const all = runs(log);
    expect(all.length).toBeGreaterThanOrEqual(1);
    expect(all.length).toBeLessThanOrEqual(2);
    expect(seqsOf(all)).toEqual(sent);
    expect(overlapped(log)).toBe(false);
    expect((await position(server.url, code)).read_seq).toBe(sent.at(-1)!);
  }, 30_000);

  test("a failing command is retried with the same message, which is acknowledged only after it succeeds", async () => {
    writeFileSync(join(log, "exit"), "3");
    const a = attach(["--exec", "fake-agent"]);
    await Bun.sleep(200);
    const seq = await say(server, "build", "bob", "are you there?", { to: "codex" });
    await eventually(() => runs(log).length >= 2, "two failed runs");
    expect((await position(server.url, code)).read_seq).toBe(0);
    rmSync(join(log, "exit"));
    await eventually(() => runs(log).some((r) => r.exit === 0), "a successful run");
    const all = runs(log);
    expect(all.every((r) => r.stdin.messages.length === 1 && r.stdin.messages[0].seq === seq)).toBe(true);
    await eventually(async () => (await position(server.url, code)).read_seq === seq, "the ack");
    a.stop.abort();
    const r = await a.done;
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("the command exited 3 for 1 thing needs you in #build");
  }, 30_000);

  test("--exec-timeout stops a command that hangs, with what it started, and retries the burst", async () => {
    const a = attach(["--exec", "fake-agent", "--exec-timeout", "1"], { STANDIN_SLEEP: "30" });
    await Bun.sleep(200);
    await say(server, "build", "bob", "are you stuck?", { to: "codex" });
    const started = () => readdirSync(log).filter((f) => f.endsWith(".stdin")).length;
    await eventually(() => started() >= 2, "a second start after the timeout", 20_000);
    expect(runs(log)).toEqual([]);
    expect((await position(server.url, code)).read_seq).toBe(0);
    a.stop.abort();
    const r = await a.done;
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("the command ran longer than 1 s and was stopped");
  }, 30_000);

  test("attach stopped while the command fails re-runs the burst when started again (nothing acknowledged, nothing lost)", async () => {
    writeFileSync(join(log, "exit"), "1");
    const first = attach(["--exec", "fake-agent"]);
    await Bun.sleep(200);
    const seq = await say(server, "build", "bob", "still there?", { to: "codex" });
    await eventually(() => runs(log).length >= 1, "a failed run");
    first.stop.abort();
    expect((await first.done).code).toBe(0);
    rmSync(join(log, "exit"));
    attach(["--exec", "fake-agent"]);
    await eventually(() => runs(log).some((r) => r.exit === 0), "the re-run");
    expect(runs(log).filter((r) => r.exit === 0).map((r) => r.stdin.messages.map((m: any) => m.seq))).toEqual([[seq]]);
  }, 30_000);

  test("a relay restart mid-attach loses nothing: attach reconnects and wakes for what came before and after", async () => {
    const a = attach(["--exec", "fake-agent"]);
    await Bun.sleep(200);
    const before = await say(server, "build", "bob", "before the restart", { to: "codex" });
    await eventually(() => runs(log).length === 1, "the first run");
    const port = server.port;
    await server.stop();
    await Bun.sleep(300);
    server = await relayOn(join(dir.path, "data"), port);
    const after = await say(server, "build", "bob", "after the restart", { to: "codex" });
    await eventually(() => seqsOf().includes(after), "the run after the restart", 30_000);
    expect(seqsOf()).toEqual([before, after]);
    a.stop.abort();
    expect((await a.done).stderr).toContain(`reconnected to ${server.url}`);
  }, 45_000);

  test("a closed room ends attach with exit 0, after handing over what came with the close", async () => {
    const a = attach(["--exec", "fake-agent", "--debounce-ms", "5000"]);
    await Bun.sleep(200);
    const seq = await say(server, "build", "bob", "last words", { to: "codex" });
    await admin(server, "/admin/rooms/build/close", { by: "alice" });
    const r = await a.done;
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("#build was closed by alice; stopping");
    expect(seqsOf()).toEqual([seq]);
  }, 30_000);

  test("the relay's idle valve does not end attach: waiting costs the agent nothing", async () => {
    await server.stop();
    // Polls answer every second, and say should_exit (idle_timeout) after one quiet second.
    server = await relayOn(join(dir.path, "data"), 0, { ARGYBARGY_MAX_IDLE_SECONDS: "1", ARGYBARGY_MAX_WAIT: "1" });
    const a = attach(["--exec", "fake-agent"]);
    await Bun.sleep(2500);
    const seq = await say(server, "build", "bob", "still with us?", { to: "codex" });
    await eventually(() => seqsOf().includes(seq), "the run after the idle bound");
    a.stop.abort();
    expect((await a.done).code).toBe(0);
  }, 30_000);

  test("messages that do not need it do not wake it, and are acknowledged all the same", async () => {
    attach(["--exec", "fake-agent"]);
    await Bun.sleep(200);
    await say(server, "build", "bob", "lunch?");
    const note = await say(server, "build", "bob", "FYI only", { to: "codex", expects_reply: "none" });
    await eventually(async () => (await position(server.url, code)).read_seq === note, "the read position past the broadcast");
    expect(runs(log)).toHaveLength(1);
    expect(runs(log)[0]!.stdin.messages.map((m: any) => m.seq)).toEqual([note]);
  }, 30_000);

  test("--for questions ignores a plain DM but wakes for an open question", async () => {
    attach(["--exec", "fake-agent", "--for", "questions"]);
    await Bun.sleep(200);
    await say(server, "build", "bob", "FYI", { to: "codex", expects_reply: "none" });
    await invite(server, "carol", "build");
    const q = await say(server, "build", "bob", "who can take this?", { expects_reply: "anyone" });
    await eventually(() => runs(log).length === 1, "one run");
    expect(runs(log)[0]!.stdin.messages.map((m: any) => m.seq)).toEqual([q]);
    expect(runs(log)[0]!.env.ARGYBARGY_SUMMARY).toBe(`1 thing needs you in #build: an open question from bob (#${q})`);
  }, 30_000);
});

describe("attach transports", () => {
  test("auto falls back to the long-poll when the relay answers 404 for the stream; --transport stream then exits 1", async () => {
    // A relay of an older version: the same API, but no /messages/stream.
    const old = Bun.serve({
      hostname: "127.0.0.1", port: 0,
      fetch: (req) => {
        const u = new URL(req.url);
        if (u.pathname === "/messages/stream") return Response.json({ error: "not_found", message: "No such path." }, { status: 404 });
        return fetch(`${server.url}${u.pathname}${u.search}`, { method: req.method, headers: req.headers, body: req.body });
      },
    });
    try {
      const url = `http://127.0.0.1:${old.port}`;
      const a = attach(["--exec", "fake-agent"], {}, url);
      await Bun.sleep(300);
      const seq = await say(server, "build", "bob", "via the old relay", { to: "codex" });
      await eventually(() => seqsOf().includes(seq), "the run");
      a.stop.abort();
      expect((await a.done).stderr).toContain("this relay has no /messages/stream; following it with the long-poll");
      transport = "stream";
      const r = await attach(["--exec", "fake-agent"], {}, url).done;
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`argybargy: ${url} has no /messages/stream (HTTP 404); use --transport auto or poll`);
    } finally {
      transport = "auto";
      old.stop(true);
    }
  }, 30_000);
});

describe("attach without --exec, --once, bad input", () => {
  test("prints each burst as one JSON line when piped", async () => {
    const a = attach([]);
    await Bun.sleep(200);
    const seq = await say(server, "build", "bob", "hello", { to: "codex" });
    await eventually(async () => (await position(server.url, code)).read_seq === seq, "the ack");
    a.stop.abort();
    const r = await a.done;
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split("\n");
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({ room: "build", name: "codex", summary: `1 thing needs you in #build: bob asked you (#${seq})`, messages: [{ seq }] });
  }, 30_000);

  test("--once handles the waiting burst and exits 0; --once --timeout exits 0 when nothing comes", async () => {
    const seq = await say(server, "build", "bob", "queued while attach was not running", { to: "codex" });
    const once = await attach(["--exec", "fake-agent", "--once"]).done;
    expect(once.code).toBe(0);
    expect(seqsOf()).toEqual([seq]);
    const t0 = Date.now();
    const idle = await attach(["--exec", "fake-agent", "--once", "--timeout", "1"]).done;
    expect(idle.code).toBe(0);
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(runs(log)).toHaveLength(1);
  }, 30_000);

  test("--once exits 1 when the command fails, leaving the burst unacknowledged", async () => {
    writeFileSync(join(log, "exit"), "2");
    await say(server, "build", "bob", "ping", { to: "codex" });
    const r = await attach(["--exec", "fake-agent", "--once"]).done;
    expect(r.code).toBe(1);
    expect((await position(server.url, code)).read_seq).toBe(0);
  }, 30_000);

  test("a refused code exits 1 with one line saying why; no code at all says how to give one", async () => {
    const r = await attach(["--exec", "fake-agent"], { ARGYBARGY_CODE: "not-a-valid-code" }).done;
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("refused the code (HTTP 401)");
    const none = await cli(["attach", "--url", server.url], cliEnv(join(dir.path, "data")));
    expect(none.code).toBe(1);
    expect(none.stderr).toBe("argybargy: no agent code: set ARGYBARGY_CODE, pass --code-file FILE, or --code CODE (the operator's `argybargy invite` prints one)\n");
  }, 30_000);

  test("--code-file reads the code; a bad --for or --debounce-ms is refused", async () => {
    const file = join(dir.path, "code.txt");
    writeFileSync(file, `${code}\n`);
    await say(server, "build", "bob", "via file", { to: "codex" });
    const r = await attach(["--once", "--code-file", file], { ARGYBARGY_CODE: "" }).done;
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).messages[0].text).toBe("via file");
    expect((await attach(["--for", "everyone"]).done).stderr).toBe('argybargy: --for must be one of me, questions, all, got "everyone"\n');
    expect((await attach(["--debounce-ms", "soon"]).done).stderr).toBe('argybargy: --debounce-ms must be a whole number, got "soon"\n');
  }, 30_000);
});
