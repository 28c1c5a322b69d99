import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";

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

  test("a failure is one line on stderr and exit 1; a bad flag is usage and exit 2", () => {
    const unreachable = Bun.spawnSync([bin, "health", "--url", `http://127.0.0.1:${freePort()}`], { env: env(), stdout: "pipe", stderr: "pipe" });
    expect(unreachable.exitCode).toBe(1);
    expect(unreachable.stderr.toString().trimEnd().split("\n")).toHaveLength(1);
    const bad = run("rooms", "--everything");
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("USAGE argybargy rooms");
  });

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

  test("SIGTERM stops it with exit 0", async () => {
    up!.kill("SIGTERM");
    const code = await Promise.race([up!.exited, Bun.sleep(5_000).then(() => null)]);
    expect(code).toBe(0);
    expect(await fetch(`${base}/health`).catch(() => null)).toBeNull();
  }, 10_000);
});
