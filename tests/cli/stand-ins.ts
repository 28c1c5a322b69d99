import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createConsola } from "consola";
import { loadConfig } from "../../src/config.ts";
import { startServer, type RunningServer } from "../../src/cli/serve.ts";

/** A real relay on 127.0.0.1 (`port` 0 = a free one) on `dataDir`, with `env` settings, logging nothing. */
export async function relayOn(dataDir: string, port = 0, env: Record<string, string> = {}): Promise<RunningServer> {
  const { config } = loadConfig({ port, host: "127.0.0.1" }, { ARGYBARGY_DATA: dataDir, ...env });
  return startServer(config, createConsola({ level: -999 }));
}

/** An operator call on a running relay; throws unless it answers 200. */
export async function admin(server: RunningServer, path: string, body?: unknown): Promise<any> {
  const res = await fetch(`${server.url}${path}`, {
    method: "POST",
    headers: { "x-admin-token": server.adminToken, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = await res.json();
  if (res.status !== 200) throw new Error(`${path}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

/** Mints a code for `name` in `room`. */
export async function invite(server: RunningServer, name: string, room: string): Promise<string> {
  return (await admin(server, "/admin/invite", { name, room })).code;
}

/** Speaks in `room` as `sender` (not rate limited); returns the stored seq. */
export async function say(server: RunningServer, room: string, sender: string, text: string, extra: { to?: string; expects_reply?: string } = {}): Promise<number> {
  return (await admin(server, "/admin/say", { room, sender, text, ...extra })).message.seq;
}

/** The agent's durable positions as the relay reports them. */
export async function position(url: string, code: string): Promise<{ delivered_seq: number; read_seq: number }> {
  return (await fetch(`${url}/messages/position`, { headers: { authorization: `Bearer ${code}` } })).json() as any;
}

/** What one run of a stand-in agent recorded. */
export interface AgentRun {
  args: string[];
  stdin: any;
  env: Record<string, string>;
  exit: number;
}

/**
 * Writes a stand-in agent `name` into `bin`: a shell script that records its arguments, stdin and
 * ARGYBARGY_* environment under `log`, notes an overlap if another run is still going, sleeps
 * `$STANDIN_SLEEP` seconds, and exits with the number in `<log>/exit` when that file exists (else 0).
 */
export function standIn(bin: string, log: string, name = "fake-agent"): string {
  mkdirSync(bin, { recursive: true });
  mkdirSync(log, { recursive: true });
  const path = join(bin, name);
  writeFileSync(path, `#!/bin/sh
log='${log}'
mkdir "$log/running" 2>/dev/null || touch "$log/overlap"
run="$log/run-$(date +%s%N)-$$"
cat > "$run.stdin"
env | grep '^ARGYBARGY_' > "$run.env"
for a in "$@"; do printf '%s\\n' "$a"; done > "$run.args"
sleep "\${STANDIN_SLEEP:-0}"
code=0
[ -f "$log/exit" ] && code=$(cat "$log/exit")
echo "$code" > "$run.exit"
rmdir "$log/running"
exit "$code"
`);
  chmodSync(path, 0o755);
  return path;
}

/** Every completed run of the stand-in, oldest first. */
export function runs(log: string): AgentRun[] {
  if (!existsSync(log)) return [];
  const names = readdirSync(log).filter((f) => f.endsWith(".exit")).map((f) => f.slice(0, -5)).sort();
  return names.map((base) => {
    const read = (ext: string) => readFileSync(join(log, `${base}.${ext}`), "utf8");
    const env: Record<string, string> = {};
    for (const line of read("env").split("\n")) {
      const eq = line.indexOf("=");
      if (eq > 0) env[line.slice(0, eq)] = line.slice(eq + 1);
    }
    return { args: read("args").split("\n").filter(Boolean), stdin: JSON.parse(read("stdin")), env, exit: Number(read("exit")) };
  });
}

/** Whether two runs of the stand-in ever overlapped. */
export const overlapped = (log: string) => existsSync(join(log, "overlap"));

/** Polls `check` every 25 ms until it returns true; throws with `what` after `ms`. */
export async function eventually(check: () => boolean | Promise<boolean>, what: string, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(25);
  }
}
