import { homedir } from "node:os";
import { join } from "node:path";

/** The release version, the same string on every surface (SPEC preamble). */
export const VERSION = "1.1.0";

export type LogLevel = "debug" | "info" | "warn" | "error";
/** `text`: one readable line per event; `json`: one JSON object per line for log shippers. */
export type LogFormat = "text" | "json";

/** SQLite's `PRAGMA synchronous` in WAL mode: `normal` survives a process crash, `full` also power loss. */
export type SyncMode = "normal" | "full";

/** Every setting of SPEC §2, resolved once; frozen so nothing mutates it after start-up. */
export interface Config {
  readonly dataDir: string;
  readonly host: string;
  readonly port: number;
  readonly logLevel: LogLevel;
  readonly logFormat: LogFormat;
  /** Bearer token that may read `/metrics` besides the admin token; "" = admin token only. */
  readonly metricsToken: string;
  /** Rooms that get their own `room` label in /metrics; the rest are counted as "other". */
  readonly metricsRooms: number;
  readonly maxText: number;
  readonly maxWait: number;
  readonly maxHistory: number;
  /** Retention per room; 0 = unlimited. */
  readonly maxMessagesPerRoom: number;
  readonly onlineWindow: number;
  /** Idle safety valve in seconds; 0 disables it. */
  readonly maxIdleSeconds: number;
  readonly rateMax: number;
  readonly rateWindow: number;
  readonly maxRooms: number;
  readonly maxCodes: number;
  readonly hashCodes: boolean;
  readonly corsOrigins: readonly string[];
  readonly docs: boolean;
  /** The configured floor; see `bodyCap` for what is enforced. */
  readonly maxBodyBytes: number;
  /** Effective body cap = max(MAX_BODY_BYTES, 12 × MAX_TEXT + 4096) (SPEC §1.1). */
  readonly bodyCap: number;
  readonly maxAudit: number;
  readonly authFailMax: number;
  /** Behind a load balancer: key the failed-auth throttle on the last X-Forwarded-For entry. */
  readonly trustProxy: boolean;
  /** PostgreSQL connection URL (postgres://…) selecting the PostgreSQL store; null = SQLite in the data dir. */
  readonly databaseUrl: string | null;
  /** Default claim lease in seconds when a claim names no ttl_s (10..86400). */
  readonly claimTtl: number;
  /** Consecutive agent messages without an operator message before a room pauses; 0 = off. */
  readonly loopGuard: number;
  /** Open `/messages/stream` connections per agent; the oldest is closed past it; 0 = no cap. */
  readonly maxStreamsPerAgent: number;
  /** Seconds of silence after which a stream writes a `: ping` comment. */
  readonly streamHeartbeatSeconds: number;
  /** Concurrent parked polls per (room, name); 0 = no cap. */
  readonly maxPollsPerAgent: number;
  /** Durability of each commit (`ARGYBARGY_SYNC`). */
  readonly sync: SyncMode;
  /** How the CLI should print: plain when CI or NO_COLOR is set, or stdout is not a TTY. */
  readonly plainOutput: boolean;
}

/** Flags that override the environment (SPEC §2 precedence). */
export interface ConfigFlags {
  host?: string;
  port?: number | string;
  /** `--database postgres://…` (serve, up). */
  database?: string;
  logFormat?: string;
}

export interface LoadedConfig {
  config: Config;
  /** One line per setting that did not parse and fell back to its default. */
  warnings: string[];
}

type Env = Record<string, string | undefined>;

/** Seconds a long-poll may park at most, whatever MAX_WAIT says (the HTTP server's timeout cap is 255 s). */
export const MAX_WAIT_CEILING = 240;

/** Bounds of a claim lease in seconds (a claim's ttl_s and ARGYBARGY_CLAIM_TTL). */
export const CLAIM_TTL_MIN = 10;
export const CLAIM_TTL_MAX = 86_400;

/** Reads SPEC §2's variables from `env` (default: the process environment) and applies flags. */
export function loadConfig(flags: ConfigFlags = {}, env: Env = process.env): LoadedConfig {
  const warnings: string[] = [];
  const read = (key: string): string | undefined => {
    const raw = env[key];
    return raw === undefined || raw.trim() === "" ? undefined : raw.trim();
  };
  const int = (key: string, fallback: number, min: number): number => {
    const raw = read(key);
    if (raw === undefined) return fallback;
    const n = /^-?[0-9]+$/.test(raw) ? Number(raw) : Number.NaN;
    if (!Number.isSafeInteger(n) || n < min) {
      warnings.push(`${key}=${JSON.stringify(raw.slice(0, 40))} is not a whole number >= ${min}; using ${fallback}`);
      return fallback;
    }
    return n;
  };
  const float = (key: string, fallback: number, min: number): number => {
    const raw = read(key);
    if (raw === undefined) return fallback;
    const n = /^[0-9]+(\.[0-9]+)?$/.test(raw) ? Number(raw) : Number.NaN;
    if (!Number.isFinite(n) || n < min) {
      warnings.push(`${key}=${JSON.stringify(raw.slice(0, 40))} is not a number >= ${min}; using ${fallback}`);
      return fallback;
    }
    return n;
  };
  const bool = (key: string, fallback: boolean): boolean => {
    const raw = read(key);
    return raw === undefined ? fallback : ["1", "true", "yes", "on"].includes(raw.toLowerCase());
  };
  // Retention accepts 0 and negatives (= unlimited), so it has no minimum.
  const retention = int("ARGYBARGY_MAX_MESSAGES_PER_ROOM", 2000, Number.MIN_SAFE_INTEGER);

  let maxWait = int("ARGYBARGY_MAX_WAIT", 25, 0);
  if (maxWait > MAX_WAIT_CEILING) {
    warnings.push(`ARGYBARGY_MAX_WAIT=${maxWait} is above ${MAX_WAIT_CEILING}; using ${MAX_WAIT_CEILING}`);
    maxWait = MAX_WAIT_CEILING;
  }
  const maxText = int("ARGYBARGY_MAX_TEXT", 8000, 1);
  const maxBodyBytes = int("ARGYBARGY_MAX_BODY_BYTES", 65536, 1024);
  // Ten minutes: long enough to write an answer, short enough that a silent claimer does not block a question for long.
  let claimTtl = int("ARGYBARGY_CLAIM_TTL", 600, CLAIM_TTL_MIN);
  if (claimTtl > CLAIM_TTL_MAX) {
    warnings.push(`ARGYBARGY_CLAIM_TTL=${claimTtl} is above ${CLAIM_TTL_MAX}; using ${CLAIM_TTL_MAX}`);
    claimTtl = CLAIM_TTL_MAX;
  }

  let port = int("ARGYBARGY_PORT", 8765, 0);
  if (flags.port !== undefined) {
    const raw = String(flags.port).trim();
    const p = /^[0-9]+$/.test(raw) ? Number(raw) : Number.NaN;
    if (!Number.isInteger(p) || p < 0 || p > 65535) throw new Error(`--port must be a whole number from 0 to 65535, got ${JSON.stringify(String(flags.port))}`);
    port = p;
  }

  const databaseUrl = flags.database?.trim() || read("ARGYBARGY_DATABASE_URL") || null;
  // Never echo the value: it may hold a password.
  if (databaseUrl !== null && !/^postgres(ql)?:\/\/[^\s]+$/i.test(databaseUrl)) {
    throw new Error(`${flags.database?.trim() ? "--database" : "ARGYBARGY_DATABASE_URL"} must be a postgres:// (or postgresql://) URL`);
  }
  const formatRaw = flags.logFormat?.trim().toLowerCase() ?? read("ARGYBARGY_LOG_FORMAT")?.toLowerCase();
  if (flags.logFormat !== undefined && formatRaw !== "text" && formatRaw !== "json") {
    throw new Error(`--log-format must be text or json, got ${JSON.stringify(flags.logFormat.slice(0, 40))}`);
  }
  let logFormat: LogFormat = "text";
  if (formatRaw === "json" || formatRaw === "text") logFormat = formatRaw;
  else if (formatRaw !== undefined) warnings.push(`ARGYBARGY_LOG_FORMAT=${JSON.stringify(formatRaw.slice(0, 40))} is not text or json; using text`);

  const config: Config = Object.freeze({
    dataDir: read("ARGYBARGY_DATA") ?? join(homedir(), ".argybargy"),
    host: flags.host?.trim() || read("ARGYBARGY_HOST") || "127.0.0.1",
    port,
    logLevel: parseLogLevel(read("ARGYBARGY_LOG_LEVEL")),
    logFormat,
    metricsToken: read("ARGYBARGY_METRICS_TOKEN") ?? "",
    // 20 rooms × the per-room series stays well inside what a Prometheus server takes per target.
    metricsRooms: int("ARGYBARGY_METRICS_ROOMS", 20, 0),
    maxText,
    maxWait,
    maxHistory: int("ARGYBARGY_MAX_HISTORY", 500, 1),
    maxMessagesPerRoom: Math.max(0, retention),
    onlineWindow: int("ARGYBARGY_ONLINE_WINDOW", 60, 0),
    maxIdleSeconds: int("ARGYBARGY_MAX_IDLE_SECONDS", 1800, 0),
    rateMax: int("ARGYBARGY_RATE_MAX", 10, 0),
    rateWindow: float("ARGYBARGY_RATE_WINDOW", 10, 0),
    maxRooms: int("ARGYBARGY_MAX_ROOMS", 0, 0),
    maxCodes: int("ARGYBARGY_MAX_CODES", 0, 0),
    hashCodes: bool("ARGYBARGY_HASH_CODES", true),
    corsOrigins: Object.freeze((env.ARGYBARGY_CORS_ORIGINS ?? "").split(",").map((s) => s.trim()).filter(Boolean)),
    docs: bool("ARGYBARGY_DOCS", true),
    maxBodyBytes,
    bodyCap: Math.max(maxBodyBytes, 12 * maxText + 4096),
    maxAudit: int("ARGYBARGY_MAX_AUDIT", 10000, 0),
    authFailMax: int("ARGYBARGY_AUTH_FAIL_MAX", 20, 0),
    databaseUrl,
    trustProxy: bool("ARGYBARGY_TRUST_PROXY", false),
    claimTtl,
    loopGuard: int("ARGYBARGY_LOOP_GUARD", 50, 0),
    // 4: a browser tab, attach and a retry or two; more from one code is usually a leak.
    maxStreamsPerAgent: int("ARGYBARGY_MAX_STREAMS_PER_AGENT", 4, 0),
    // 15 s: under every common proxy's idle cut (cloudflared, nginx 60 s) with room to spare.
    streamHeartbeatSeconds: float("ARGYBARGY_STREAM_HEARTBEAT", 15, 0.05),
    // 8: a few tabs or retries of one agent, far below what would starve a room.
    maxPollsPerAgent: int("ARGYBARGY_MAX_POLLS_PER_AGENT", 8, 0),
    sync: parseSync(read("ARGYBARGY_SYNC"), warnings),
    plainOutput: Boolean(env.CI || env.NO_COLOR || env.TERM === "dumb") || !process.stdout.isTTY,
  });
  return { config, warnings };
}

function parseSync(raw: string | undefined, warnings: string[]): SyncMode {
  if (raw === undefined || raw.toLowerCase() === "normal") return "normal";
  if (raw.toLowerCase() === "full") return "full";
  warnings.push(`ARGYBARGY_SYNC=${JSON.stringify(raw.slice(0, 40))} is neither normal nor full; using normal`);
  return "normal";
}

/** What the agent-side verbs (`attach`, `hook`, `connect`) read from the environment. */
export interface AgentEnv {
  /** ARGYBARGY_URL: the relay an agent talks to (may be a tunnel URL). */
  readonly url: string | undefined;
  /** ARGYBARGY_CODE: the agent's code, so it never shows in `ps`. */
  readonly code: string | undefined;
  /** ARGYBARGY_CODE_FILE: a file holding the agent's code. */
  readonly codeFile: string | undefined;
  /** The whole environment, for the commands `attach --exec` starts (they inherit it). */
  readonly inherited: Readonly<Record<string, string>>;
}

/** Reads the agent-side variables from `env` (default: the process environment). */
export function loadAgentEnv(env: Env = process.env): AgentEnv {
  const read = (key: string) => (env[key]?.trim() ? env[key]!.trim() : undefined);
  const inherited: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined) inherited[k] = v;
  return Object.freeze({ url: read("ARGYBARGY_URL"), code: read("ARGYBARGY_CODE"), codeFile: read("ARGYBARGY_CODE_FILE"), inherited });
}

function parseLogLevel(raw: string | undefined): LogLevel {
  switch (raw?.toLowerCase()) {
    case "debug": return "debug";
    case "warn": case "warning": return "warn";
    case "error": case "critical": return "error";
    default: return "info";
  }
}
