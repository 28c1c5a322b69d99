// The container image without Docker: build the binary, lay out the image's root filesystem
// with scripts/rootfs (the same script the Dockerfile runs), and boot it the way Docker
// would: its own PID and mount namespaces, a fresh /proc, chroot, uid 65532. Needs root.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const repo = resolve(import.meta.dir, "../..");
const work = mkdtempSync(join(tmpdir(), "argybargy-rootfs-"));
const root = join(work, "rootfs");
const uid = 65532;

type Server = { proc: Bun.Subprocess<"ignore", "pipe", "pipe">; pid1: number; url: string; stderr: Promise<string> };
const running = new Set<Server>();
let setupError: string | null = null;

/** Absolute path of a system tool, also when PATH lacks the sbin directories. */
function tool(name: string): string | null {
  const found = Bun.which(name);
  if (found) return found;
  return ["/usr/sbin", "/usr/bin", "/sbin", "/bin"].map((dir) => join(dir, name)).find((p) => existsSync(p)) ?? null;
}

/** Why this machine cannot run the test, or null. A reason fails the tests; it never skips them. */
function unsupported(): string | null {
  if (process.platform !== "linux") return "the rootfs test needs Linux (chroot and PID/mount namespaces)";
  if (process.getuid?.() !== 0) return "the rootfs test must run as root: chroot and `unshare --pid --mount` need it (CI runs as root)";
  for (const name of ["unshare", "chroot", "ldd"]) {
    if (!tool(name)) return `the rootfs test needs \`${name}\` (util-linux, coreutils, libc-bin), which is not installed`;
  }
  return null;
}

function requireSetup(): void {
  const reason = unsupported() ?? setupError;
  if (reason) throw new Error(reason);
}

function run(argv: string[], env: Record<string, string | undefined> = process.env): string | null {
  const r = Bun.spawnSync(argv, { cwd: repo, env, stdout: "pipe", stderr: "pipe" });
  if (r.exitCode === 0) return null;
  return `${argv.join(" ")} exited ${r.exitCode}:\n${r.stdout.toString()}${r.stderr.toString()}`;
}

/** argv that runs the image's entrypoint with `args`, as uid 65532, as PID 1 of a new namespace. */
function inContainer(args: string[]): string[] {
  return [
    tool("unshare")!, "--mount", "--pid", "--fork", "--kill-child", `--mount-proc=${join(root, "proc")}`,
    tool("chroot")!, `--userspec=${uid}:${uid}`, root, "/usr/local/bin/argybargy", ...args,
  ];
}

// The environment the Dockerfile sets, and nothing of the host's.
const containerEnv = { PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", ARGYBARGY_DATA: "/data", NO_COLOR: "1" };

function freePort(): number {
  const probe = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = probe.port;
  probe.stop(true);
  return port;
}

/** The pid that `unshare --fork` started: PID 1 inside the namespace. */
async function childOf(parent: number, deadlineMs: number): Promise<number> {
  while (Date.now() < deadlineMs) {
    for (const entry of readdirSync("/proc")) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
        // The process name may contain spaces and parentheses; the fields after the last ")" do not.
        const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
        if (ppid === parent) return Number(entry);
      } catch {
        // the process ended while we looked
      }
    }
    await Bun.sleep(20);
  }
  throw new Error(`unshare (pid ${parent}) started no child`);
}

async function boot(): Promise<Server> {
  const port = freePort();
  const proc = Bun.spawn(inContainer(["serve", "--host", "127.0.0.1", "--port", String(port)]), {
    env: containerEnv, stdin: "ignore", stdout: "pipe", stderr: "pipe",
  });
  const server: Server = { proc, pid1: 0, url: `http://127.0.0.1:${port}`, stderr: new Response(proc.stderr).text() };
  running.add(server);
  const deadline = Date.now() + 20_000;
  server.pid1 = await childOf(proc.pid, deadline);
  while (Date.now() < deadline) {
    if (proc.exitCode !== null) throw new Error(`the server exited ${proc.exitCode} before answering:\n${await server.stderr}`);
    const res = await fetch(`${server.url}/health`).catch(() => null);
    if (res?.status === 200) return server;
    await Bun.sleep(50);
  }
  throw new Error(`no 200 from ${server.url}/health within 20 s`);
}

/** SIGTERM to PID 1 of the namespace, as `docker stop` sends it; the exit code and seconds taken. Throws after 5 s. */
async function stop(server: Server): Promise<{ code: number | null; seconds: number }> {
  const t0 = performance.now();
  process.kill(server.pid1, "SIGTERM");
  const code = await Promise.race([server.proc.exited, Bun.sleep(5_000).then(() => null)]);
  const seconds = (performance.now() - t0) / 1000;
  if (code === null) throw new Error("PID 1 was still running 5 s after SIGTERM (SPEC §7.14: exit 0 within 5 s)");
  running.delete(server);
  return { code, seconds };
}

/** fetch options carrying the admin token the server wrote into the image's /data. */
function admin(body?: unknown): RequestInit {
  const token = readFileSync(join(root, "data", "admin.token"), "utf8").trim();
  return {
    method: body === undefined ? "GET" : "POST",
    headers: { "X-Admin-Token": token, "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  };
}

beforeAll(() => {
  if (unsupported()) return;
  // NODE_ENV=production: bun build inlines the caller's value, which is "test" here (STACK.md pitfall 3).
  const env = { ...process.env, NODE_ENV: "production" };
  setupError =
    run(["bash", "scripts/build", "--outdir", join(work, "dist")], env) ??
    run(["bash", "scripts/rootfs", join(work, "dist", "argybargy"), root]);
}, 180_000);

afterAll(async () => {
  // PID 1 first, then let unshare reap it: chroot --userspec changes credentials, which
  // clears the parent-death signal --kill-child set, so killing unshare alone leaves PID 1.
  for (const server of running) {
    if (server.pid1) process.kill(server.pid1, "SIGKILL");
    await Promise.race([server.proc.exited, Bun.sleep(2_000)]);
    server.proc.kill("SIGKILL");
  }
  rmSync(work, { recursive: true, force: true });
});

describe("the container root filesystem", () => {
  test("holds only the binary, the loader's libraries, /tmp, /data, /proc and passwd", () => {
    requireSetup();
    expect(statSync(join(root, "usr/local/bin/argybargy")).mode & 0o777).toBe(0o755);
    expect(statSync(join(root, "tmp")).mode & 0o7777).toBe(0o1777);
    expect(statSync(join(root, "data")).uid).toBe(uid);
    expect(readdirSync(join(root, "proc"))).toEqual([]);
    expect(readFileSync(join(root, "etc/passwd"), "utf8")).toContain(`:${uid}:${uid}:`);
    const libs = Bun.spawnSync([tool("ldd")!, join(root, "usr/local/bin/argybargy")]).stdout.toString().match(/\/\S+/g) ?? [];
    const files = readdirSync(root, { recursive: true, withFileTypes: true }).filter((e) => !e.isDirectory());
    expect(files.map((e) => join(e.parentPath, e.name).slice(root.length)).sort()).toEqual(
      [...new Set(["/usr/local/bin/argybargy", "/etc/passwd", "/etc/group", ...libs])].sort(),
    );
  });

  test("argybargy --version prints 1.1.0 as uid 65532 inside the chroot", () => {
    requireSetup();
    const r = Bun.spawnSync(inContainer(["--version"]), { env: containerEnv, stdout: "pipe", stderr: "pipe" });
    expect(r.stderr.toString()).toBe("");
    expect(r.stdout.toString().trim()).toBe("1.1.0");
    expect(r.exitCode).toBe(0);
  });

  test("serves as uid 65532, passes its HEALTHCHECK, exits 0 on SIGTERM as PID 1, keeps messages in /data", async () => {
    requireSetup();
    const first = await boot();
    expect(await (await fetch(`${first.url}/health`)).json()).toEqual({ status: "ok", version: "1.1.0" });
    expect(readFileSync(`/proc/${first.pid1}/status`, "utf8")).toMatch(new RegExp(`^Uid:\\s+${uid}\\s+${uid}\\b`, "m"));
    // The image's HEALTHCHECK: the binary's own client, since the image has no curl.
    const port = new URL(first.url).port;
    const health = Bun.spawnSync(inContainer(["health"]), { env: { ...containerEnv, ARGYBARGY_PORT: port }, stdout: "pipe", stderr: "pipe" });
    expect(health.stdout.toString().trim()).toBe("ok 1.1.0");
    expect(health.exitCode).toBe(0);

    const said = await fetch(`${first.url}/admin/say`, admin({ room: "ops", text: "hello" }));
    expect(said.status).toBe(200);
    expect(statSync(join(root, "data", "argybargy.db")).uid).toBe(uid);

    const stopped = await stop(first);
    expect(stopped.code).toBe(0);
    expect(stopped.seconds).toBeLessThan(5);

    const second = await boot();
    const state = await fetch(`${second.url}/admin/state?room=ops`, admin());
    expect(state.status).toBe(200);
    const { messages } = (await state.json()) as { messages: { room: string; from: string; text: string }[] };
    expect(messages).toContainEqual(expect.objectContaining({ room: "ops", from: "operator", text: "hello" }));
    expect((await stop(second)).code).toBe(0);
  });
});
