import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { tempDir } from "../helpers.ts";
import { cli, cliEnv, type CliResult } from "./run-cli.ts";

const REPO = join(import.meta.dir, "..", "..");
const TUNNEL_URL = "https://calm-river-fancy-words.trycloudflare.com";

let dir: ReturnType<typeof tempDir>;
let env: Record<string, string>;
beforeEach(() => {
  dir = tempDir("argy-cli-up-");
  // The server's own log lines (stderr of this test process) would only clutter the output.
  env = cliEnv(dir.path, { ARGYBARGY_LOG_LEVEL: "error" });
});
afterEach(() => dir.cleanup());

/** Starts a long-running verb in-process; resolves once `ready` shows up on stdout. */
async function startInProcess(argv: string[], runEnv: Record<string, string>, ready: RegExp) {
  const stop = new AbortController();
  let seen = "";
  const ok = Promise.withResolvers<void>();
  const done: Promise<CliResult> = cli(argv, runEnv, {
    stop: stop.signal,
    onOutput: (text) => {
      seen = text;
      if (ready.test(text)) ok.resolve();
    },
  });
  const timer = setTimeout(() => ok.reject(new Error(`not ready; output so far:\n${seen}`)), 10_000);
  await Promise.race([ok.promise, done.then((r) => { throw new Error(`ended early: ${JSON.stringify(r)}`); })]);
  clearTimeout(timer);
  return { output: () => seen, stop: async () => { stop.abort(); return done; } };
}

const localUrl = (text: string) => /(http:\/\/127\.0\.0\.1:\d+)\/dashboard/.exec(text)![1]!;

describe("serve (in process)", () => {
  test("prints version, listen URL, dashboard, state dir; the token only as a path when not on a terminal; removes url.txt", async () => {
    writeFileSync(join(dir.path, "url.txt"), "https://stale.trycloudflare.com\n");
    const run = await startInProcess(["serve", "--port", "0"], env, /admin token/);
    const out = run.output();
    expect(out).toMatch(/^argybargy 1\.1\.0 listening on http:\/\/127\.0\.0\.1:\d+$/m);
    expect(out).toContain(`state dir: ${dir.path}`);
    expect(out).toContain(`admin token: in ${join(dir.path, "admin.token")} (print it with: argybargy token)`);
    const token = readFileSync(join(dir.path, "admin.token"), "utf8");
    expect(out).not.toContain(token);
    expect(existsSync(join(dir.path, "url.txt"))).toBe(false);
    const base = localUrl(out);
    expect((await fetch(`${base}/health`)).status).toBe(200);
    const result = await run.stop();
    expect(result.code).toBe(0);
    expect(await fetch(`${base}/health`).catch(() => null)).toBeNull();
  });

  test("a port in use exits 1 with one line", async () => {
    const taken = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response() });
    try {
      const r = await cli(["serve", "--port", String(taken.port)], env);
      expect(r.code).toBe(1);
      expect(r.stderr).toBe(`argybargy: port ${taken.port} on 127.0.0.1 is already in use; stop the other server or pass --port\n`);
    } finally {
      taken.stop(true);
    }
  });

  test("a bad --port exits 1 with one line", async () => {
    const r = await cli(["serve", "--port", "http"], env);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('argybargy: --port must be a whole number from 0 to 65535, got "http"\n');
  });
});

describe("up (in process)", () => {
  test("--no-tunnel: the panel with local URLs, the admin token, the invite hint and Ctrl+C", async () => {
    const run = await startInProcess(["up", "--no-tunnel", "--port", "0"], env, /Ctrl\+C to stop/);
    const out = run.output();
    const token = readFileSync(join(dir.path, "admin.token"), "utf8");
    const base = localUrl(out);
    expect(out).toContain("Argybargy is LIVE");
    expect(out).toContain("local only — no tunnel");
    expect(out).toContain(`Local dashboard : ${base}/dashboard`);
    expect(out).toContain(`Admin token     : ${token}`);
    expect(out).toMatch(/Invite an agent : argybargy invite --name <peer>$/m);
    expect(out).not.toContain("cloudflared");
    expect((await fetch(`${base}/health`)).status).toBe(200);
    expect((await run.stop()).code).toBe(0);
  });

  test("cloudflared missing from PATH: says it runs locally only and how to get a URL, then the panel", async () => {
    const empty = join(dir.path, "empty-bin");
    mkdirSync(empty);
    const run = await startInProcess(["up", "--port", "0"], { ...env, PATH: empty }, /Ctrl\+C to stop/);
    const out = run.output();
    expect(out).toContain("running locally only");
    expect(out).toContain("install cloudflared");
    expect(out.indexOf("running locally only")).toBeLessThan(out.indexOf("Argybargy is LIVE"));
    expect(out).toContain("local only — no tunnel");
    expect(existsSync(join(dir.path, "url.txt"))).toBe(false);
    expect((await run.stop()).code).toBe(0);
  });

  test("a cloudflared that cannot be started: says so and serves locally", async () => {
    const bin = join(dir.path, "broken-bin");
    mkdirSync(bin);
    writeFileSync(join(bin, "cloudflared"), "#!/nonexistent/interpreter\n", { mode: 0o755 });
    const run = await startInProcess(["up", "--port", "0"], { ...env, PATH: bin }, /Ctrl\+C to stop/);
    const out = run.output();
    expect(out).toContain(`Could not start ${join(bin, "cloudflared")} (`);
    expect(out).toContain("running locally only");
    expect(out).toContain("local only — no tunnel");
    expect((await fetch(`${localUrl(out)}/health`)).status).toBe(200);
    expect((await run.stop()).code).toBe(0);
  });
});

/** `bun src/main.ts up …` as a real process, its stdout collected as it arrives. */
class UpProcess {
  stdout = "";
  stderr = "";
  readonly proc: Subprocess<"ignore", "pipe", "pipe">;

  constructor(argv: string[], runEnv: Record<string, string>) {
    this.proc = Bun.spawn([process.execPath, "src/main.ts", ...argv], { cwd: REPO, env: runEnv, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
    void this.collect(this.proc.stdout, (t) => (this.stdout += t));
    void this.collect(this.proc.stderr, (t) => (this.stderr += t));
  }

  private async collect(stream: ReadableStream<Uint8Array>, add: (t: string) => void) {
    const decoder = new TextDecoder();
    for await (const chunk of stream) add(decoder.decode(chunk, { stream: true }));
  }

  async waitFor(pattern: RegExp, ms = 10_000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!pattern.test(this.stdout)) {
      if (Date.now() > deadline || this.proc.exitCode !== null) throw new Error(`no ${pattern} on stdout; stdout:\n${this.stdout}\nstderr:\n${this.stderr}`);
      await Bun.sleep(20);
    }
  }

  /** SIGTERM and the exit code with the seconds it took. */
  async terminate(): Promise<{ code: number; seconds: number }> {
    const t0 = performance.now();
    this.proc.kill("SIGTERM");
    const code = await this.proc.exited;
    return { code, seconds: (performance.now() - t0) / 1000 };
  }
}

/** A stand-in for cloudflared in `bin`: writes its pid and arguments, then runs `body`. */
function fakeCloudflared(bin: string, body: string): void {
  mkdirSync(bin, { recursive: true });
  const path = join(bin, "cloudflared");
  writeFileSync(path, `#!/bin/sh\necho $$ > "$ARGYBARGY_DATA/cloudflared.pid"\necho "$@" > "$ARGYBARGY_DATA/cloudflared.args"\n${body}\n`);
  chmodSync(path, 0o755);
}

/** What cloudflared 2024.x prints on stderr when a quick tunnel comes up. */
const ANNOUNCE = [
  "INF Thank you for trying Cloudflare Tunnel. Doing so, without a Cloudflare account, is a quick way to experiment.",
  "INF Requesting new quick Tunnel on trycloudflare.com...",
  "INF +--------------------------------------------------------------------------------------------+",
  "INF |  Your quick Tunnel has been created! Visit it at (it may take some time to be reachable):  |",
  `INF |  ${TUNNEL_URL}                                          |`,
  "INF +--------------------------------------------------------------------------------------------+",
].map((l) => `echo "2026-11-24T08:00:00Z ${l}" >&2`).join("\nsleep 0.2\n");

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe("up with a tunnel (subprocess, stand-in cloudflared on PATH)", () => {
  const procs: UpProcess[] = [];
  const pids: number[] = [];
  afterEach(() => {
    for (const p of procs.splice(0)) if (p.proc.exitCode === null) p.proc.kill("SIGKILL");
    for (const pid of pids.splice(0)) if (alive(pid)) process.kill(pid, "SIGKILL");
  });

  function up(body: string) {
    const bin = join(dir.path, "bin");
    fakeCloudflared(bin, body);
    const p = new UpProcess(["up", "--port", "0"], { PATH: `${bin}:/usr/bin:/bin`, HOME: dir.path, ARGYBARGY_DATA: dir.path, NO_COLOR: "1" });
    procs.push(p);
    return p;
  }
  const fakePid = () => {
    const pid = Number(readFileSync(join(dir.path, "cloudflared.pid"), "utf8"));
    pids.push(pid);
    return pid;
  };

  test("the announced URL goes to url.txt and the panel; when cloudflared dies url.txt goes and the bridge keeps serving", async () => {
    const p = up(`${ANNOUNCE}\nexec sleep 600`);
    await p.waitFor(/Ctrl\+C to stop/);
    const urlTxt = join(dir.path, "url.txt");
    expect(p.stdout).toContain("the public URL follows in a few seconds");
    expect(readFileSync(urlTxt, "utf8")).toBe(`${TUNNEL_URL}\n`);
    expect(p.stdout).toContain(`Public URL      : ${TUNNEL_URL}`);
    expect(p.stdout).toContain(`Dashboard       : ${TUNNEL_URL}/dashboard`);
    expect(p.stdout).toContain(`Invite an agent : argybargy invite --name <peer> --url ${TUNNEL_URL}`);
    expect(p.stdout).toContain(`Admin token     : ${readFileSync(join(dir.path, "admin.token"), "utf8")}`);
    const base = localUrl(p.stdout);
    const port = new URL(base).port;
    expect(readFileSync(join(dir.path, "cloudflared.args"), "utf8").trim()).toBe(`tunnel --url http://localhost:${port}`);
    // The public URL is what invite now tells agents.
    const invite = await cli(["invite", "--name", "alice", "--json"], cliEnv(dir.path));
    expect(JSON.parse(invite.stdout).url).toBe(TUNNEL_URL);

    process.kill(fakePid(), "SIGTERM");
    await p.waitFor(/The tunnel ended/);
    expect(existsSync(urlTxt)).toBe(false);
    expect(p.stdout).toContain(`keeps serving at ${base}/dashboard`);
    expect((await fetch(`${base}/health`)).status).toBe(200);
    expect((await p.terminate()).code).toBe(0);
  }, 20_000);

  test("SIGTERM stops cloudflared, removes url.txt, exits 0", async () => {
    const p = up(`${ANNOUNCE}\nexec sleep 600`);
    await p.waitFor(/Ctrl\+C to stop/);
    const pid = fakePid();
    expect(alive(pid)).toBe(true);
    const { code, seconds } = await p.terminate();
    expect(code).toBe(0);
    expect(seconds).toBeLessThan(3);
    expect(alive(pid)).toBe(false);
    expect(existsSync(join(dir.path, "url.txt"))).toBe(false);
    expect(p.stdout).not.toContain("The tunnel ended");
  }, 20_000);

  test("a cloudflared that ignores SIGTERM is killed after the 5 s grace; still exit 0", async () => {
    const p = up(`trap '' TERM\n${ANNOUNCE}\nexec sleep 600`);
    await p.waitFor(/Ctrl\+C to stop/);
    const pid = fakePid();
    const { code, seconds } = await p.terminate();
    expect(code).toBe(0);
    expect(seconds).toBeGreaterThan(4.5);
    expect(seconds).toBeLessThan(8);
    expect(alive(pid)).toBe(false);
    expect(existsSync(join(dir.path, "url.txt"))).toBe(false);
  }, 20_000);

  test("a tunnel that fails without a URL: says so, no url.txt, the bridge keeps serving locally", async () => {
    const p = up([
      'echo "2026-11-24T08:00:00Z INF Requesting new quick Tunnel on trycloudflare.com..." >&2',
      'echo "2026-11-24T08:00:01Z ERR failed to request quick Tunnel: Post \\"https://api.trycloudflare.com/tunnel\\": dial tcp: lookup api.trycloudflare.com: no such host" >&2',
      "exit 1",
    ].join("\n"));
    await p.waitFor(/Ctrl\+C to stop/);
    expect(p.stdout).toContain("The tunnel reported no URL");
    expect(p.stdout).toContain("local only — no tunnel");
    expect(p.stdout).not.toContain("api.trycloudflare.com");
    expect(existsSync(join(dir.path, "url.txt"))).toBe(false);
    const base = localUrl(p.stdout);
    await Bun.sleep(300);
    expect((await fetch(`${base}/health`)).status).toBe(200);
    expect(p.proc.exitCode).toBeNull();
    expect((await p.terminate()).code).toBe(0);
  }, 20_000);
});
