import { defineCommand } from "citty";
import { setupVerb } from "./context.ts";
import { createLogger } from "./log.ts";
import { fail, type Output } from "./output.ts";
import { startServer, untilStopped, withinGrace, type RunningServer } from "./serve.ts";
import { findCloudflared, Tunnel } from "./tunnel.ts";

/** After this long without a tunnel URL the panel is shown for local use; the URL may still follow. */
const TUNNEL_PATIENCE_MS = 30_000;

/** `argybargy up`: the relay, a quick tunnel when cloudflared is on PATH, and the panel; exit 0 on SIGINT/SIGTERM. */
export const upCommand = defineCommand({
  meta: { name: "up", description: "Run the relay, with a Cloudflare quick tunnel when cloudflared is installed" },
  args: {
    host: { type: "string", description: "Bind address (default ARGYBARGY_HOST or 127.0.0.1)" },
    port: { type: "string", description: "Bind port (default ARGYBARGY_PORT or 8765)" },
    database: { type: "string", description: "PostgreSQL URL (postgres://…) instead of SQLite (default ARGYBARGY_DATABASE_URL)" },
    tunnel: { type: "boolean", default: true, negativeDescription: "Do not start a tunnel; serve locally only" },
  },
  async run(ctx) {
    const { io, config, out } = setupVerb(ctx, { host: ctx.args.host, port: ctx.args.port, database: ctx.args.database });
    const server = await startServer(config, createLogger(config.logLevel, config.logFormat)).catch((err) => fail((err as Error).message));
    const stopped = untilStopped(io.stop);
    let tunnel: Tunnel | null = null;
    if (!ctx.args.tunnel) {
      panel(out, server, null);
    } else {
      const bin = findCloudflared(io.env?.PATH);
      if (bin) {
        try {
          tunnel = Tunnel.start(bin, server.port, io.env);
        } catch (err) {
          out.line(`Could not start ${bin} (${(err as Error).message}), so argybargy is running locally only.`);
          panel(out, server, null);
        }
        if (tunnel) await announceTunnel(out, server, tunnel, stopped);
      } else {
        out.line("cloudflared is not installed, so argybargy is running locally only.");
        out.line("For an internet URL, install cloudflared (https://github.com/cloudflare/cloudflared/releases) and run `argybargy up` again.");
        panel(out, server, null);
      }
    }
    await stopped;
    // The public URL dies with the tunnel, so it is withdrawn first. cloudflared gets its own
    // 5 s grace (then SIGKILL) while the server drains, so neither waits for the other.
    server.dataDir.removeUrl();
    await Promise.all([tunnel?.stop(), withinGrace(() => server.stop())]);
  },
});

/**
 * Waits (with progress) for the tunnel's URL, publishes it in url.txt and prints the panel; or
 * says the tunnel gave none and prints the local panel. After `patienceMs` without a URL the
 * local panel is shown and a late URL still published. Watches cloudflared for the rest of the run.
 */
export async function announceTunnel(out: Output, server: RunningServer, tunnel: Tunnel, stopped: Promise<string>, patienceMs = TUNNEL_PATIENCE_MS): Promise<void> {
  let stopping = false;
  void stopped.then(() => (stopping = true));
  let published = false;
  const publish = (url: string) => {
    if (stopping) return;
    server.dataDir.writeUrl(url);
    published = true;
    panel(out, server, url);
  };
  void tunnel.exited.then((status) => {
    if (stopping || !published) return;
    server.dataDir.removeUrl();
    out.line(`The tunnel ended (cloudflared exited with status ${status}); the public URL is gone and the bridge keeps serving at ${server.url}/dashboard`);
  });

  out.start("Starting the bridge and a Cloudflare quick tunnel; the public URL follows in a few seconds…");
  const t0 = Date.now();
  const ticker = setInterval(() => out.progress(`  waiting for the tunnel… ${Math.floor((Date.now() - t0) / 1000)} s`), 1000);
  let patience: ReturnType<typeof setTimeout> | undefined;
  const first = await Promise.race([
    tunnel.url.then((url) => ({ url })),
    stopped.then(() => null),
    new Promise<"slow">((r) => (patience = setTimeout(() => r("slow"), patienceMs))),
  ]);
  clearInterval(ticker);
  clearTimeout(patience);
  out.progress(null);
  if (first === null) return;
  if (first === "slow") {
    out.line(`The tunnel has reported no URL after ${patienceMs / 1000} s; the bridge serves locally meanwhile at ${server.url}/dashboard`);
    panel(out, server, null);
    void tunnel.url.then((url) => url && publish(url));
  } else if (first.url) {
    publish(first.url);
  } else {
    out.line(`The tunnel reported no URL, so the bridge runs locally only: ${server.url}/dashboard`);
    panel(out, server, null);
  }
}

/** The boxed "Argybargy is LIVE" block of SPEC §8. The admin token is shown here on purpose. */
function panel(out: Output, server: RunningServer, publicUrl: string | null): void {
  const rows: [string, string][] = [
    ["Public URL", publicUrl ?? "local only — no tunnel"],
    ["Dashboard", `${publicUrl ?? server.url}/dashboard`],
    ["Local dashboard", `${server.url}/dashboard`],
    ["Admin token", server.adminToken],
    ["Invite an agent", `argybargy invite --name <peer>${publicUrl ? ` --url ${publicUrl}` : ""}`],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  out.box("Argybargy is LIVE", [...rows.map(([k, v]) => `${k.padEnd(width)} : ${v}`), "", "Ctrl+C to stop"]);
}
