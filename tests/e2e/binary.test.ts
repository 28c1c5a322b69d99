import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from "node:fs";
import { runs, standIn } from "../cli/stand-ins.ts";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { freshSchemaUrl } from "../pg-cluster.ts";
import { EventSource } from "eventsource";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

/**
 * The compiled binary end to end: built by scripts/build (the release flags), run as `up
 * --no-tunnel`, driven by its own verbs and by plain HTTP as an agent would, stopped by SIGTERM.
 */

const REPO = join(import.meta.dir, "..", "..");
const work = mkdtempSync(join(tmpdir(), "argy-e2e-binary-"));
const bin = join(work, "dist", "argybargy");
const data = join(work, "data");
let port = 0;
let base = "";
let up: Subprocess<"ignore", "pipe", "pipe"> | null = null;
let upStdout = "";

/** The binary's environment: nothing inherited but PATH, so no ARGYBARGY_* of the host leaks in. */
const env = () => ({ PATH: "/usr/bin:/bin", HOME: work, ARGYBARGY_DATA: data, ARGYBARGY_PORT: String(port), NO_COLOR: "1" });

function run(...argv: string[]) {
  const r = Bun.spawnSync([bin, ...argv], { env: env(), stdout: "pipe", stderr: "pipe" });
  return { code: r.exitCode, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

function freePort(): number {
  const probe = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response() });
  const p = probe.port!;
  probe.stop(true);
  return p;
}

beforeAll(async () => {
  // NODE_ENV=production: bun build inlines the caller's value, which is "test" here (STACK.md pitfall 3).
  const build = Bun.spawnSync(["bash", "scripts/build", "--outdir", join(work, "dist")], {
    cwd: REPO, env: { ...process.env, NODE_ENV: "production" }, stdout: "pipe", stderr: "pipe",
  });
  if (build.exitCode !== 0) throw new Error(`scripts/build failed:\n${build.stdout}\n${build.stderr}`);
  port = freePort();
  base = `http://127.0.0.1:${port}`;
  up = Bun.spawn([bin, "up", "--no-tunnel", "--port", String(port)], { env: env(), stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  void (async () => {
    const decoder = new TextDecoder();
    for await (const chunk of up!.stdout) upStdout += decoder.decode(chunk, { stream: true });
  })();
  const deadline = Date.now() + 20_000;
  while (!upStdout.includes("Ctrl+C to stop")) {
    if (Date.now() > deadline || up.exitCode !== null) throw new Error(`up did not print its panel:\n${upStdout}\n${await new Response(up.stderr).text()}`);
    await Bun.sleep(20);
  }
}, 180_000);

afterAll(() => {
  if (up && up.exitCode === null) up.kill("SIGKILL");
  rmSync(work, { recursive: true, force: true });
});

const agent = (code: string) => ({ authorization: `Bearer ${code}`, "content-type": "application/json" });

describe("the compiled binary", () => {
  test("--version prints 1.1.0", () => {
    expect(run("--version")).toEqual({ code: 0, stdout: "1.1.0\n", stderr: "" });
    expect(run("rooms", "--version").stdout).toBe("1.1.0\n");
  });

  test("up --no-tunnel printed the panel with the admin token; token prints the same one", () => {
    const token = readFileSync(join(data, "admin.token"), "utf8");
    expect(upStdout).toContain("Argybargy is LIVE");
    expect(upStdout).toContain("local only — no tunnel");
    expect(upStdout).toContain(`Local dashboard : ${base}/dashboard`);
    expect(upStdout).toContain(`Admin token     : ${token}`);
    expect(upStdout).toContain("argybargy invite --name <peer>");
    expect(run("token")).toEqual({ code: 0, stdout: `${token}\n`, stderr: "" });
  });

  test("health", () => {
    expect(run("health")).toEqual({ code: 0, stdout: "ok 1.1.0\n", stderr: "" });
  });

  test("checkpoints its SQLite WAL in a worker thread: a second connection holds the database file open", async () => {
    const handles = () => readdirSync(`/proc/${up!.pid}/fd`).filter((fd) => {
      try {
        return readlinkSync(`/proc/${up!.pid}/fd/${fd}`) === join(data, "argybargy.db");
      } catch {
        return false; // closed while listing
      }
    }).length;
    const deadline = Date.now() + 5_000;
    while (handles() < 2 && Date.now() < deadline) await Bun.sleep(20);
    expect(handles()).toBe(2);
  });

  test("invite, then an agent posts and long-polls over HTTP; post wakes the poll; rooms shows it; close dismisses a parked poll", async () => {
    const invite = run("invite", "--name", "alice", "--room", "lab", "--json");
    expect(invite.code).toBe(0);
    const { code, url } = JSON.parse(invite.stdout);
    expect(url).toBe(`http://localhost:${port}`);

    const sent = await fetch(`${base}/messages`, { method: "POST", headers: agent(code), body: JSON.stringify({ text: "hello, I am alice" }) });
    expect(sent.status).toBe(200);
    expect((await sent.json()).message).toMatchObject({ seq: 1, from: "alice", to: "all" });
    // An agent is not sent its own messages back; the cursor moves past them.
    const first = await (await fetch(`${base}/messages?since=0`, { headers: agent(code) })).json();
    expect(first).toMatchObject({ messages: [], cursor: 1, should_exit: false });

    const parked = fetch(`${base}/messages?wait=20&since=${first.cursor}`, { headers: agent(code) }).then((r) => r.json());
    await Bun.sleep(150);
    const post = run("post", "lab", "welcome, alice");
    expect(post).toEqual({ code: 0, stdout: "#lab seq 2 sent as operator -> all\n", stderr: "" });
    const woke = await parked;
    expect(woke.messages.map((m: any) => [m.seq, m.from, m.text])).toEqual([[2, "operator", "welcome, alice"]]);
    expect(woke.should_exit).toBe(false);

    const rooms = run("rooms");
    expect(rooms.code).toBe(0);
    const rows = rooms.stdout.trimEnd().split("\n");
    expect(rows[0]).toMatch(/^ROOM\s+STATUS\s+MSGS\s+LAST\s+WAITING$/);
    expect(rows[1]!.split(/\s+/)).toEqual(["lab", "open", "2", "0s", "-"]);

    const dismissed = fetch(`${base}/messages?wait=20&since=${woke.cursor}`, { headers: agent(code) }).then((r) => r.json());
    await Bun.sleep(150);
    const close = run("close", "lab");
    expect(close.code).toBe(0);
    expect(close.stdout).toMatch(/^Room "lab" was closed by operator at .+Z; its pollers have been told to leave/);
    const last = await dismissed;
    expect(last.should_exit).toBe(true);
    expect(last.exit_reason).toBe("room_closed");
  }, 30_000);

  test("serves the SSE stream: eventsource gets the backlog, a live post and the close as a room event", async () => {
    const { code: reader } = JSON.parse(run("invite", "--name", "reader", "--room", "sse", "--json").stdout);
    expect(run("post", "sse", "before the stream").code).toBe(0);
    const events: { type: string; id: string; data: any }[] = [];
    const es = new EventSource(`${base}/messages/stream`, {
      fetch: (url, init) => fetch(url, { ...init, headers: { ...init.headers, authorization: `Bearer ${reader}` } }),
    });
    for (const type of ["message", "room"]) {
      es.addEventListener(type, (e) => events.push({ type, id: (e as MessageEvent).lastEventId, data: JSON.parse((e as MessageEvent).data) }));
    }
    const until = async (n: number) => {
      for (const deadline = Date.now() + 10_000; events.length < n; await Bun.sleep(10)) {
        if (Date.now() > deadline) throw new Error(`only ${events.length} events: ${JSON.stringify(events)}`);
      }
    };
    try {
      await until(1);
      expect(run("post", "sse", "live one").code).toBe(0);
      await until(2);
      expect(run("close", "sse").code).toBe(0);
      await until(3);
      expect(events.map((e) => [e.type, e.id, e.data.text ?? e.data.exit_reason])).toEqual([
        ["message", "1", "before the stream"], ["message", "2", "live one"], ["room", "2", "room_closed"],
      ]);
      expect(events[2]!.data).toMatchObject({ room: "sse", status: "closed", should_exit: true });
    } finally {
      es.close();
    }
  }, 30_000);

  test("serves /mcp to the SDK's client, and `argybargy mcp` bridges stdio to it", async () => {
    const code = (name: string) => JSON.parse(run("invite", "--name", name, "--room", "mcp", "--json").stdout).code as string;
    const overHttp = new Client({ name: "e2e-http", version: "1" });
    await overHttp.connect(new StreamableHTTPClientTransport(new URL(`${base}/mcp`), { requestInit: { headers: { authorization: `Bearer ${code("carol")}` } } }));
    const overStdio = new Client({ name: "e2e-stdio", version: "1" });
    await overStdio.connect(new StdioClientTransport({ command: bin, args: ["mcp", "--url", base], env: { ...env(), ARGYBARGY_CODE: code("dave") }, stderr: "ignore" }));
    try {
      expect((await overStdio.listTools()).tools.map((t) => t.name).sort()).toEqual(["claim", "history", "peers", "send", "wait", "whoami"]);
      const text = (r: unknown) => JSON.parse((r as { content: { text: string }[] }).content[0]!.text);
      const sent = text(await overStdio.callTool({ name: "send", arguments: { text: "hi from the binary's bridge", expects_reply: "carol" } }));
      const got = text(await overHttp.callTool({ name: "wait", arguments: { timeout_s: 10 } }));
      expect(got.messages.map((m: any) => [m.seq, m.from, m.expects_reply_resolved])).toEqual([[sent.seq, "dave", "carol"]]);
    } finally {
      await overStdio.close();
      await overHttp.close();
    }
  }, 30_000);

  test("a failure is one line on stderr and exit 1; a bad flag is usage and exit 2", () => {
    const unreachable = Bun.spawnSync([bin, "health", "--url", `http://127.0.0.1:${freePort()}`], { env: env(), stdout: "pipe", stderr: "pipe" });
    expect(unreachable.exitCode).toBe(1);
    expect(unreachable.stderr.toString().trimEnd().split("\n")).toHaveLength(1);
    const bad = run("rooms", "--everything");
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("USAGE argybargy rooms");
  });

  test("on PostgreSQL: serves, keeps the admin token in the database, and refuses a bad URL in one line without its password", async () => {
    const pgUrl = await freshSchemaUrl();
    const pgPort = freePort();
    const pgEnv = { ...env(), ARGYBARGY_DATABASE_URL: pgUrl, ARGYBARGY_PORT: String(pgPort), ARGYBARGY_DATA: join(work, "pg-data") };
    const serve = Bun.spawn([bin, "serve", "--port", String(pgPort)], { env: pgEnv, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
    try {
      const pgBase = `http://127.0.0.1:${pgPort}`;
      const deadline = Date.now() + 15_000;
      while ((await fetch(`${pgBase}/health`).catch(() => null))?.status !== 200) {
        if (Date.now() > deadline || serve.exitCode !== null) throw new Error(`serve on PostgreSQL did not come up: ${await new Response(serve.stderr).text()}`);
        await Bun.sleep(50);
      }
      const token = Bun.spawnSync([bin, "token"], { env: pgEnv, stdout: "pipe", stderr: "pipe" }).stdout.toString().trim();
      const invite = await fetch(`${pgBase}/admin/invite`, { method: "POST", headers: { "x-admin-token": token }, body: JSON.stringify({ name: "pgagent", room: "pg" }) });
      const code = ((await invite.json()) as { code: string }).code;
      expect((await fetch(`${pgBase}/messages`, { method: "POST", headers: agent(code), body: JSON.stringify({ text: "stored in PostgreSQL" }) })).status).toBe(200);
      const history = (await (await fetch(`${pgBase}/history`, { headers: agent(code) })).json()) as { messages: { text: string }[] };
      expect(history.messages.map((m) => m.text)).toEqual(["stored in PostgreSQL"]);
    } finally {
      serve.kill("SIGTERM");
      expect(await serve.exited).toBe(0);
    }
    const wrong = Bun.spawnSync([bin, "serve", "--port", "0", "--database", "postgres://argy:s3cret-pw@127.0.0.1:1/argy"], { env: env(), stdout: "pipe", stderr: "pipe" });
    expect(wrong.exitCode).toBe(1);
    const lines = wrong.stderr.toString().trimEnd().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/cannot reach PostgreSQL at postgres:\/\/argy:\*\*\*@127\.0\.0\.1:1\/argy/);
    expect(wrong.stderr.toString() + wrong.stdout.toString()).not.toContain("s3cret-pw");
  }, 60_000);

  test("serve --log-format json: /metrics from prom-client inside the binary; every log line is JSON with no secret", async () => {
    const jsonData = join(work, "data-json");
    const jsonPort = freePort();
    const scrapeToken = "scrape-secret-0123456789abcdef";
    const jsonEnv = { ...env(), ARGYBARGY_DATA: jsonData, ARGYBARGY_PORT: String(jsonPort), ARGYBARGY_METRICS_TOKEN: scrapeToken };
    const serve = Bun.spawn([bin, "serve", "--log-format", "json"], { env: jsonEnv, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
    let code = "";
    try {
      const url = `http://127.0.0.1:${jsonPort}`;
      for (let i = 0; i < 400 && !(await fetch(`${url}/health`).catch(() => null))?.ok; i++) await Bun.sleep(25);
      const invited = Bun.spawnSync([bin, "invite", "--name", "bob", "--room", "ops", "--json"], { env: jsonEnv, stdout: "pipe", stderr: "pipe" });
      code = JSON.parse(invited.stdout.toString()).code;
      expect((await fetch(`${url}/messages`, { method: "POST", headers: agent(code), body: JSON.stringify({ text: "hi" }) })).status).toBe(200);
      expect((await fetch(`${url}/whoami`, { headers: agent("wrong-code") })).status).toBe(401);
      const metrics = await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${scrapeToken}` } });
      expect(metrics.status).toBe(200);
      const text = await metrics.text();
      expect(text).toContain('argybargy_messages_posted_total{origin="agent",room="ops"} 1');
      expect(text).toContain('argybargy_auth_failed_total{kind="agent"} 1');
      expect(text).toMatch(/^argybargy_process_resident_memory_bytes [0-9]+$/m);
      expect((await fetch(`${url}/metrics`)).status).toBe(401);
    } finally {
      serve.kill("SIGTERM");
      await serve.exited;
    }
    const stderr = await new Response(serve.stderr).text();
    const lines = stderr.split("\n").filter(Boolean);
    expect(lines.length).toBeGreaterThanOrEqual(2);
    const events = lines.map((l) => JSON.parse(l));
    for (const e of events) {
      expect(Object.keys(e).sort()).toEqual(["fields", "level", "msg", "ts"]);
      expect(new Date(e.ts).toISOString()).toBe(e.ts);
    }
    expect(events.find((e) => e.msg.startsWith("peer connected"))).toMatchObject({ level: "info", fields: { name: "bob", room: "ops" } });
    const token = readFileSync(join(jsonData, "admin.token"), "utf8").trim();
    for (const secret of [token, scrapeToken, code]) expect(stderr).not.toContain(secret);
  }, 30_000);

  test("attach --exec wakes a stand-in agent once per DM, with the message on stdin, and exits 0 when the room closes", async () => {
    const { code } = JSON.parse(run("invite", "--name", "codex", "--room", "wake", "--json").stdout);
    const agentBin = join(work, "agent-bin");
    const log = join(work, "agent-log");
    standIn(agentBin, log);
    const attach = Bun.spawn([bin, "attach", "--url", base, "--debounce-ms", "200", "--exec", 'fake-agent "$ARGYBARGY_SUMMARY"'], {
      env: { ...env(), PATH: `${agentBin}:/usr/bin:/bin`, ARGYBARGY_CODE: code }, stdin: "ignore", stdout: "pipe", stderr: "pipe",
    });
    try {
      const deadline = Date.now() + 20_000;
      const waitFor = async (check: () => boolean, what: string) => {
        while (!check()) {
          if (Date.now() > deadline) throw new Error(`${what}; attach stderr:\n${await new Response(attach.stderr).text()}`);
          await Bun.sleep(50);
        }
      };
      await Bun.sleep(500);
      expect(run("post", "wake", "please look at the build", "--to", "codex").code).toBe(0);
      await waitFor(() => runs(log).length === 1, "no run of the stand-in agent");
      const [woke] = runs(log);
      expect(woke!.args).toEqual(["1 thing needs you in #wake: operator asked you (#1)"]);
      expect(woke!.stdin.messages).toEqual([expect.objectContaining({ seq: 1, from: "operator", to: "codex", text: "please look at the build" })]);
      expect(woke!.env.ARGYBARGY_CODE).toBeUndefined();
      const readSeq = async () => (await (await fetch(`${base}/messages/position`, { headers: agent(code) })).json()).read_seq;
      while ((await readSeq()) !== 1) {
        if (Date.now() > deadline) throw new Error("the burst was never acknowledged");
        await Bun.sleep(50);
      }
      expect(run("close", "wake").code).toBe(0);
      expect(await Promise.race([attach.exited, Bun.sleep(15_000).then(() => "still running")])).toBe(0);
      expect(runs(log)).toHaveLength(1);
    } finally {
      if (attach.exitCode === null) attach.kill("SIGKILL");
    }
  }, 60_000);

  test("hook claude-stop reads Claude Code's JSON on stdin and blocks the stop with what needs the agent", () => {
    const { code } = JSON.parse(run("invite", "--name", "claude", "--room", "hooked", "--json").stdout);
    expect(run("post", "hooked", "your turn", "--to", "claude").code).toBe(0);
    const input = JSON.stringify({ session_id: "e2e", transcript_path: "/t.jsonl", cwd: work, hook_event_name: "Stop", stop_hook_active: false });
    const hook = (wait: string) => Bun.spawnSync([bin, "hook", "claude-stop", "--url", base, "--wait", wait, "--state-dir", join(work, "hook-state")], {
      env: { ...env(), ARGYBARGY_CODE: code }, stdin: Buffer.from(input), stdout: "pipe", stderr: "pipe",
    });
    const first = hook("0");
    expect(first.exitCode).toBe(0);
    const out = JSON.parse(first.stdout.toString());
    expect(out.decision).toBe("block");
    expect(out.reason).toContain("#1 operator → you (expects you): your turn");
    const second = hook("1");
    expect([second.exitCode, second.stdout.toString(), second.stderr.toString()]).toEqual([0, "", ""]);
  }, 30_000);

  test("attach stopped by SIGTERM while the agent runs exits 0 and leaves that burst unread", async () => {
    const { code } = JSON.parse(run("invite", "--name", "codex", "--room", "wake2", "--json").stdout);
    const agentBin = join(work, "agent-bin2");
    const log = join(work, "agent-log2");
    standIn(agentBin, log);
    const attach = Bun.spawn([bin, "attach", "--url", base, "--debounce-ms", "100", "--exec", "fake-agent"], {
      env: { ...env(), PATH: `${agentBin}:/usr/bin:/bin`, ARGYBARGY_CODE: code, STANDIN_SLEEP: "30" }, stdin: "ignore", stdout: "pipe", stderr: "pipe",
    });
    try {
      await Bun.sleep(500);
      expect(run("post", "wake2", "long job", "--to", "codex").code).toBe(0);
      const deadline = Date.now() + 20_000;
      while (!existsSync(join(log, "running"))) {
        if (Date.now() > deadline) throw new Error("the stand-in agent never started");
        await Bun.sleep(50);
      }
      attach.kill("SIGTERM");
      expect(await Promise.race([attach.exited, Bun.sleep(15_000).then(() => "still running")])).toBe(0);
      const position = await (await fetch(`${base}/messages/position`, { headers: agent(code) })).json();
      expect(position.read_seq).toBe(0);
    } finally {
      if (attach.exitCode === null) attach.kill("SIGKILL");
    }
  }, 60_000);

  test("SIGTERM stops it with exit 0, also with a stream open", async () => {
    const { code: stayer } = JSON.parse(run("invite", "--name", "stayer", "--room", "sse", "--json").stdout);
    const open = await fetch(`${base}/messages/stream`, { headers: { authorization: `Bearer ${stayer}` } });
    expect(open.status).toBe(200);
    const drained = open.text().then(() => "ended", () => "ended");
    up!.kill("SIGTERM");
    const code = await Promise.race([up!.exited, Bun.sleep(5_000).then(() => null)]);
    expect(code).toBe(0);
    expect(await drained).toBe("ended");
    expect(await fetch(`${base}/health`).catch(() => null)).toBeNull();
    // The worker's connection closed before the serving one, which checkpointed and removed the WAL.
    expect(existsSync(join(data, "argybargy.db-wal"))).toBe(false);
  }, 10_000);
});
