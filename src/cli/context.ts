import type { CommandContext } from "citty";
import { loadConfig, type Config, type ConfigFlags } from "../config.ts";
import type { Store } from "../relay/ports.ts";
import { DataDir } from "../store/files.ts";
import { maskUrl, PgStore } from "../store/postgres.ts";
import { SqliteStore } from "../store/sqlite.ts";
import { fail, Output, type CliIo } from "./output.ts";

/** What every verb works with: its streams, the resolved config and an output in the right style. */
export interface Verb {
  io: CliIo;
  config: Config;
  out: Output;
}

/**
 * Resolves the config for one verb (SPEC §2: defaults < environment < flags) from the run's
 * environment and prints its warnings on stderr. A bad `--port` ends the command (exit 1).
 */
export function setupVerb(ctx: CommandContext<any>, flags: ConfigFlags = {}): Verb {
  const io = ctx.data as CliIo;
  let loaded: ReturnType<typeof loadConfig>;
  try {
    loaded = loadConfig(flags, io.env);
  } catch (err) {
    fail((err as Error).message);
  }
  const out = new Output(io, loaded.config.plainOutput || !io.isTTY);
  for (const w of loaded.warnings) out.warn(w);
  return { io, config: loaded.config, out };
}

/**
 * Opens the database directly for a store verb (`invite`, `codes`, `revoke`, `room`; SPEC §3):
 * the server need not run. Closes it whatever `fn` does. Ends with exit 1 when it cannot open.
 */
export async function withStore<T>(config: Config, fn: (store: Store, dataDir: DataDir) => Promise<T>): Promise<T> {
  const dataDir = new DataDir(config.dataDir);
  let store: Store;
  try {
    dataDir.ensure();
    store = (await openStore(config, dataDir)).store;
  } catch (err) {
    fail(oneLine((err as Error).message));
  }
  try {
    return await fn(store, dataDir);
  } finally {
    await store.close();
  }
}

/** A `--url` value without trailing slashes; exit 1 unless it is an http(s) URL. */
export function flagUrl(raw: string): string {
  const url = raw.trim().replace(/\/+$/, "");
  if (!/^https?:\/\/[^/\s]+/i.test(url) || !URL.canParse(url)) fail(`--url must be an http:// or https:// URL, got ${JSON.stringify(raw.slice(0, 80))}`);
  return url;
}

/** The URL agents are told (SPEC §8, `invite`/`room`): --url > non-blank url.txt > http://localhost:<port>. */
export function publicUrl(config: Config, flag: string | undefined): string {
  if (flag !== undefined) return flagUrl(flag);
  return new DataDir(config.dataDir).readUrl() ?? `http://localhost:${config.port}`;
}

/** Collapses whitespace so a message from elsewhere stays one line on stderr. */
export function oneLine(text: string): string {
  return text.replace(/\s+/g, " ").trim();
}

/** The store the config selects, opened and migrated; `pg` is set when it is PostgreSQL. */
export interface OpenedStore {
  store: Store;
  pg: PgStore | null;
  /** For the start-up log line: which store, where (a database URL with its password masked). */
  label: string;
}

/**
 * Opens PostgreSQL when ARGYBARGY_DATABASE_URL / --database is set, else SQLite in the data
 * dir; `serving` (the server) checkpoints SQLite's WAL in a worker. Throws with a one-line
 * reason (never the password) when it cannot.
 */
export async function openStore(config: Config, dataDir: DataDir, serving = false): Promise<OpenedStore> {
  if (config.databaseUrl) {
    const pg = await PgStore.open(config.databaseUrl);
    return { store: pg, pg, label: `store=postgres database=${maskUrl(config.databaseUrl)}` };
  }
  return { store: SqliteStore.open(dataDir.dbPath, config.sync, serving), pg: null, label: `store=sqlite file=${dataDir.dbPath} sync=${config.sync}` };
}

/** A relay answer's JSON body, or null when it is empty, unreadable or not JSON. */
export async function jsonOf(res: Response): Promise<any> {
  const text = await res.text().catch(() => "");
  try {
    return text ? JSON.parse(text) : null;
  } catch {
    return null;
  }
}
