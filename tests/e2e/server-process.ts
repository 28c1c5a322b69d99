import { readFileSync } from "node:fs";
import { join } from "node:path";

// A real `bun src/main.ts serve` child for the fault tests (crash, storm). Everything a store
// needs comes in through `env`, so a second store (PostgreSQL: its URL and store switch) plugs
// in by passing more variables, with the same kill/restart/check loop around it.

const MAIN = join(import.meta.dir, "../../src/main.ts");
const HOST = "127.0.0.1";

/** A port that was free a moment ago (the crash test restarts on the same port each time). */
export function freePort(): number {
  const probe = Bun.listen({ hostname: HOST, port: 0, socket: { data() {} } });
  const port = probe.port;
  probe.stop(true);
  return port;
}

export interface ServerProcess {
  proc: Bun.Subprocess<"ignore", "ignore", "pipe">;
  url: string;
  port: number;
  /** The admin token from the data dir (written at the first start). */
  token: string;
  /** Server RSS in KB from /proc (Linux). */
  rssKb(): number;
  /** Sends `signal` and waits for the exit. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Every server process still running; `killAll` in afterAll stops the ones a failed test left. */
const running = new Set<Bun.Subprocess>();

/**
 * Spawns `serve` on HOST:`port` with `dataDir` and `env` (over a clean ARGYBARGY_* environment),
 * and resolves once /health answers 200. Throws with the server's stderr if it does not.
 */
export async function spawnServer(opts: { dataDir: string; port: number; env?: Record<string, string>; readyMs?: number }): Promise<ServerProcess> {
  const base: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith("ARGYBARGY_") && v !== undefined) base[k] = v;
  const proc = Bun.spawn([process.execPath, MAIN, "serve", "--host", HOST, "--port", String(opts.port)], {
    env: { ...base, ARGYBARGY_DATA: opts.dataDir, ARGYBARGY_LOG_LEVEL: "error", NO_COLOR: "1", ...opts.env },
    stdin: "ignore", stdout: "ignore", stderr: "pipe",
  });
  running.add(proc);
  void proc.exited.then(() => running.delete(proc));
  const url = `http://${HOST}:${opts.port}`;
  const deadline = Date.now() + (opts.readyMs ?? 20_000);
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`server exited with ${proc.exitCode} before /health:\n${await new Response(proc.stderr).text()}`);
    const res = await fetch(`${url}/health`).catch(() => null);
    if (res?.status === 200) break;
    if (Date.now() > deadline) {
      proc.kill("SIGKILL");
      throw new Error(`server did not answer /health within ${opts.readyMs ?? 20_000} ms`);
    }
    await Bun.sleep(10);
  }
  return {
    proc, url, port: opts.port,
    token: readFileSync(join(opts.dataDir, "admin.token"), "utf8").trim(),
    rssKb: () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${proc.pid}/status`, "utf8"))?.[1] ?? 0),
    stop: async (signal = "SIGTERM") => {
      if (proc.exitCode === null) proc.kill(signal);
      return proc.exited;
    },
  };
}

/** SIGKILLs every server this module started that is still alive. */
export function killAll(): void {
  for (const p of running) p.kill("SIGKILL");
  running.clear();
}
