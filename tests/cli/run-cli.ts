import { createConsola } from "consola";
import { loadConfig } from "../../src/config.ts";
import { runCli } from "../../src/cli/index.ts";
import { startServer, type RunningServer } from "../../src/cli/serve.ts";

/** What one in-process CLI run printed, and its exit code. */
export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** The environment of every in-process run: a private data dir and plain output, nothing inherited. */
export function cliEnv(dataDir: string, extra: Record<string, string> = {}): Record<string, string> {
  return { ARGYBARGY_DATA: dataDir, NO_COLOR: "1", CI: "1", ...extra };
}

/** Runs `argybargy <argv>` in this process with captured streams. */
export async function cli(argv: string[], env: Record<string, string>, opts: { stop?: AbortSignal; onOutput?: (text: string) => void; stdin?: string } = {}): Promise<CliResult> {
  let stdout = "";
  let stderr = "";
  const code = await runCli(argv, {
    stdout: { write: (s: string) => { stdout += s; opts.onOutput?.(stdout); } },
    stderr: { write: (s: string) => { stderr += s; } },
    env,
    isTTY: false,
    stop: opts.stop,
    readStdin: opts.stdin === undefined ? undefined : async () => opts.stdin!,
  });
  return { code, stdout, stderr };
}

/** stderr as lines, without the trailing empty one. */
export const lines = (text: string) => text.split("\n").filter((l, i, all) => l !== "" || i < all.length - 1);

/** A real server on 127.0.0.1 and a free port, on `dataDir`, logging nothing. */
export async function serverOn(dataDir: string, env: Record<string, string> = {}): Promise<RunningServer> {
  const { config } = loadConfig({ port: 0, host: "127.0.0.1" }, { ARGYBARGY_DATA: dataDir, ...env });
  return startServer(config, createConsola({ level: -999 }));
}

/** A port nothing listens on (it was free a moment ago). */
export function closedPort(): number {
  const probe = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response() });
  const port = probe.port!;
  probe.stop(true);
  return port;
}
