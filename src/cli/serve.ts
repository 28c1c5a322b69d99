import { defineCommand } from "citty";
import type { ConsolaInstance } from "consola";
import { VERSION, type Config } from "../config.ts";
import { createApp, type App } from "../http/app.ts";
import { InFlight } from "../http/in-flight.ts";
import { PromMetrics } from "../http/metrics.ts";
import { LocalBus } from "../relay/bus.ts";
import { newSecret } from "../relay/codes.ts";
import { Operator } from "../relay/operator.ts";
import { Relay } from "../relay/relay.ts";
import { timedStore } from "../relay/timed-store.ts";
import { DataDir } from "../store/files.ts";
import { PgBus } from "../store/pg-bus.ts";
import { maskUrl } from "../store/postgres.ts";
import { PgSharedState } from "../store/pg-shared.ts";
import type { Bus } from "../relay/ports.ts";
import { createLogger } from "./log.ts";
import { openStore, setupVerb } from "./context.ts";
import { fail } from "./output.ts";

/** Seconds between upkeep sweeps (presence transitions, rate logs, throttle windows, ended claim leases). */
const SWEEP_SECONDS = 2;
/** Expired codes are purged at start-up and at least this often. */
const PURGE_MS = 3600_000;

export interface RunningServer {
  app: App;
  relay: Relay;
  /** What `/metrics` exposes. */
  metrics: PromMetrics;
  dataDir: DataDir;
  url: string;
  port: number;
  adminToken: string;
  /** Answers parked polls, stops listening, closes the database. Idempotent. */
  stop(): Promise<void>;
}

/**
 * THE wiring point: data dir → store (migrated, codes hashed, expired purged) → admin token →
 * Relay → HTTP app → listen (SPEC §7.14). Throws with a one-line reason when it cannot start.
 */
export async function startServer(config: Config, log: ConsolaInstance = createLogger(config.logLevel, config.logFormat)): Promise<RunningServer> {
  const dataDir = new DataDir(config.dataDir);
  dataDir.ensure();
  const { store, pg, label } = await openStore(config, dataDir, true);
  let bus: Bus & { stop?: () => Promise<void> };
  try {
    bus = pg ? await PgBus.start(pg) : new LocalBus();
  } catch (err) {
    await store.close();
    throw new Error(`cannot LISTEN on the database: ${(err as Error).message}`);
  }
  if (config.hashCodes) {
    const n = await store.hashPlaintextCodes();
    if (n) log.info(`converted ${n} plaintext code(s) to hashed form`, { converted: n });
  }
  await store.purgeExpiredCodes(Date.now() - 7 * 86_400_000);
  // Several instances share one admin token through the database (a first start adopts the file's).
  const shared = pg ? new PgSharedState(pg) : undefined;
  let adminToken = dataDir.readToken();
  if (shared) {
    adminToken = await shared.saveAdminToken(adminToken || newSecret(), true);
  } else if (!adminToken) {
    adminToken = newSecret();
    dataDir.writeToken(adminToken);
  }
  dataDir.removeUrl();
  const metrics = new PromMetrics(config.metricsRooms);
  const relay = new Relay({
    store: timedStore(store, metrics), metrics, bus, shared, clock: { now: () => Date.now() }, limits: config, adminToken,
    onEvent: (e) => {
      if (e.kind === "connect") log.info(`peer connected: ${e.name} in #${e.room}`, { name: e.name, room: e.room });
      else if (e.kind === "receipts_failed") log.error("writing receipt marks failed:", e.error);
      else log.warn("admin token regenerated; the old token no longer works");
    },
  });
  const operator = new Operator(relay, {
    save: async (token) => {
      if (shared) await shared.saveAdminToken(token, false);
      else dataDir.writeToken(token);
    },
  });
  const inFlight = new InFlight();
  const app = createApp({
    relay, operator, config, metrics, inFlight, startedMs: Date.now(), publicUrl: () => dataDir.readUrl(),
    logError: (id, err) => log.error(`request ${id} failed:`, { request_id: id }, err),
    storeHealthy: pg ? () => pg.ping() : undefined,
  });
  log.info(`argybargy ${VERSION} ${label} data=${config.dataDir} hash_codes=${config.hashCodes} retention=${config.maxMessagesPerRoom || "unlimited"}`, {
    version: VERSION, store: pg ? "postgres" : "sqlite", data: config.dataDir, hash_codes: config.hashCodes, retention: config.maxMessagesPerRoom, metrics_token: config.metricsToken !== "",
  });
  try {
    app.listen({ hostname: config.host, port: config.port });
  } catch (err) {
    await bus.stop?.();
    await store.close();
    const code = (err as NodeJS.ErrnoException).code;
    throw new Error(code === "EADDRINUSE"
      ? `port ${config.port} on ${config.host} is already in use; stop the other server or pass --port`
      : `cannot listen on ${config.host}:${config.port} (${code ?? (err as Error).message})`);
  }
  // Loaded once listening, so the first /health never waits for it; the process metrics count from here.
  void metrics.start().catch((e) => log.error("metrics failed to load:", e));
  const sweep = setInterval(() => void relay.sweep().catch((e) => log.error("sweep failed:", e)), SWEEP_SECONDS * 1000);
  const purge = setInterval(() => {
    void relay.purgeExpiredCodes().catch((e) => log.error("purge of expired codes failed:", e));
    void shared?.sweep(Date.now() - 3600_000).catch((e) => log.error("sweep of shared state failed:", e));
  }, PURGE_MS);
  sweep.unref();
  purge.unref();
  const port = app.server!.port!;
  let stopping: Promise<void> | null = null;
  return {
    app, relay, metrics, dataDir, port, adminToken,
    url: `http://${config.host.includes(":") ? `[${config.host}]` : config.host}:${port}`,
    stop: () => (stopping ??= (async () => {
      clearInterval(sweep);
      clearInterval(purge);
      // Every parked poll answers from a fresh snapshot before the sockets are closed.
      await relay.shutdown();
      // A handler whose client is gone (or whose answer Bun dropped) may still be writing.
      await inFlight.idle(IN_FLIGHT_GRACE_MS);
      // Elysia's graceful stop does not resolve promptly even when idle; a short pause lets the
      // answers just produced reach their sockets, then the rest are closed.
      await new Promise((r) => setTimeout(r, 50));
      await app.stop(true);
      await shared?.flush();
      await bus.stop?.();
      await store.close();
    })()),
  };
}

/** Longest a shutdown waits for handlers still running once the parked polls have answered. */
const IN_FLIGHT_GRACE_MS = 2000;

/** Longest a shutdown may take before the process gives up waiting (SPEC §7.14: exit 0 within 5 s). */
export const SHUTDOWN_GRACE_MS = 5000;

/**
 * Resolves with the signal's name at the first SIGINT/SIGTERM (the binary may be PID 1 in a
 * container, where the default SIGTERM action is to ignore it), or "abort" when `signal` aborts.
 * The handlers are removed again, so a second Ctrl+C during shutdown kills the process.
 */
export function untilStopped(signal?: AbortSignal): Promise<string> {
  return new Promise((resolve) => {
    const done = (why: string) => {
      process.off("SIGINT", onInt);
      process.off("SIGTERM", onTerm);
      signal?.removeEventListener("abort", onAbort);
      resolve(why);
    };
    const onInt = () => done("SIGINT");
    const onTerm = () => done("SIGTERM");
    const onAbort = () => done("abort");
    process.on("SIGINT", onInt);
    process.on("SIGTERM", onTerm);
    if (signal?.aborted) done("abort");
    else signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** Runs `steps` but returns after SHUTDOWN_GRACE_MS at the latest. */
export async function withinGrace(steps: () => Promise<void>): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([steps(), new Promise((r) => (timer = setTimeout(r, SHUTDOWN_GRACE_MS)))]);
  clearTimeout(timer);
}

/** `argybargy serve`: the relay without a tunnel (the container's command); exit 0 on SIGINT/SIGTERM. */
export const serveCommand = defineCommand({
  meta: { name: "serve", description: "Run the relay without a tunnel" },
  args: {
    host: { type: "string", description: "Bind address (default ARGYBARGY_HOST or 127.0.0.1)" },
    port: { type: "string", description: "Bind port (default ARGYBARGY_PORT or 8765)" },
    database: { type: "string", description: "PostgreSQL URL (postgres://…) for several instances on one database (default ARGYBARGY_DATABASE_URL, else SQLite)" },
    "log-format": { type: "string", valueHint: "text|json", description: "Server log format on stderr: text, or json (one object per line; default ARGYBARGY_LOG_FORMAT or text)" },
  },
  async run(ctx) {
    const { io, config, out } = setupVerb(ctx, { host: ctx.args.host, port: ctx.args.port, database: ctx.args.database, logFormat: ctx.args["log-format"] });
    const server = await startServer(config, createLogger(config.logLevel, config.logFormat)).catch((err) => fail((err as Error).message));
    out.line(`argybargy ${VERSION} listening on ${server.url}`);
    out.line(`dashboard: ${server.url}/dashboard`);
    out.line(config.databaseUrl
      ? `store: PostgreSQL ${maskUrl(config.databaseUrl)} (any number of instances may share it)`
      : `state dir: ${config.dataDir} (one server process per data directory)`);
    // The token only on a terminal: piped output ends up in logs (SPEC §8).
    if (io.isTTY) out.line(`admin token: ${server.adminToken}`);
    else if (config.databaseUrl) out.line("admin token: in the database (print it with: argybargy token, same ARGYBARGY_DATABASE_URL)");
    else out.line(`admin token: in ${server.dataDir.tokenPath} (print it with: argybargy token)`);
    await untilStopped(io.stop);
    await withinGrace(() => server.stop());
  },
});
