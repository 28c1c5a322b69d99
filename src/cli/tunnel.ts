import type { Subprocess } from "bun";

/** The public URL a quick tunnel announces. */
const QUICK_URL = /https:\/\/([A-Za-z0-9.-]+)\.trycloudflare\.com/g;
/** Bytes of an unfinished line kept while scanning (a URL never spans more). */
const CARRY_MAX = 4096;

/**
 * The first tunnel URL in `text`, or null. `api.trycloudflare.com` is skipped: cloudflared names
 * it in its own error lines ("failed to request quick Tunnel: Post https://api.trycloudflare.com/…"),
 * and it is the service that hands out tunnels, never one.
 */
export function findTunnelUrl(text: string): string | null {
  for (const m of text.matchAll(QUICK_URL)) {
    if (m[1]!.toLowerCase() !== "api") return m[0];
  }
  return null;
}

/** Path of `cloudflared` on PATH (`path` overrides the process's PATH), or null. */
export function findCloudflared(path?: string): string | null {
  return Bun.which("cloudflared", path === undefined ? undefined : { PATH: path });
}

/**
 * A Cloudflare quick tunnel run by `argybargy up` (SPEC §8): `cloudflared tunnel --url
 * http://localhost:<port>`, its stdout and stderr both scanned for the first
 * `https://<host>.trycloudflare.com`.
 */
export class Tunnel {
  /** The first URL announced, or null once the output ended without one. */
  readonly url: Promise<string | null>;
  /** Resolves with cloudflared's exit status once it ended. */
  readonly exited: Promise<number>;

  private constructor(private readonly proc: Subprocess<"ignore", "pipe", "pipe">) {
    const found = Promise.withResolvers<string | null>();
    this.url = found.promise;
    this.exited = proc.exited;
    // Both pipes are drained until they close, also after the URL was found: a full pipe
    // would block cloudflared. Each keeps its own unfinished line.
    const scanner = () => {
      let carry = "";
      return (chunk: string) => {
        const text = carry + chunk;
        const url = findTunnelUrl(text);
        if (url) found.resolve(url);
        carry = text.slice(text.lastIndexOf("\n") + 1).slice(-CARRY_MAX);
      };
    };
    void Promise.all([drain(proc.stdout, scanner()), drain(proc.stderr, scanner())]).then(() => found.resolve(null));
  }

  /** Spawns `cloudflared tunnel --url http://localhost:<port>`; `env` replaces the environment when given. */
  static start(bin: string, port: number, env?: Record<string, string | undefined>): Tunnel {
    const proc = Bun.spawn([bin, "tunnel", "--url", `http://localhost:${port}`], {
      stdin: "ignore", stdout: "pipe", stderr: "pipe", ...(env ? { env } : {}),
    });
    return new Tunnel(proc);
  }

  get pid(): number {
    return this.proc.pid;
  }

  /** SIGTERM, then SIGKILL when it is still running after `graceMs`; resolves once it exited. */
  async stop(graceMs = 5000): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    this.proc.kill("SIGTERM");
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<"late">((r) => (timer = setTimeout(() => r("late"), graceMs)));
    if ((await Promise.race([this.proc.exited, late])) === "late") this.proc.kill("SIGKILL");
    clearTimeout(timer);
    await this.proc.exited;
  }
}

async function drain(stream: ReadableStream<Uint8Array>, onText: (text: string) => void): Promise<void> {
  const decoder = new TextDecoder();
  try {
    for await (const chunk of stream) onText(decoder.decode(chunk, { stream: true }));
  } catch {
    // the pipe broke because the process died: the same as its end
  }
}
