import { defineCommand } from "citty";
import { existsSync, readFileSync, realpathSync, renameSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import type { BulkStore, Store, StoreDump } from "../relay/ports.ts";
import { DataDir } from "../store/files.ts";
import { PgSharedState } from "../store/pg-shared.ts";
import { maskUrl, PgStore } from "../store/postgres.ts";
import { SqliteStore } from "../store/sqlite.ts";
import { backupV1, readV1 } from "../store/v1.ts";
import { oneLine, setupVerb } from "./context.ts";
import { CliExit, fail } from "./output.ts";

/** Name of the copy of the 1.0 database that `import` keeps in the target data dir. */
export const V1_BACKUP = "argybargy.db.v1.bak";

/**
 * Loads a 1.0 dump into a store of either kind (the port, so a PostgreSQL store fits): refuses a
 * store that already holds data; `loadAll` is one transaction, so a failure leaves it empty.
 */
export async function loadV1Into(store: Store & BulkStore, dump: StoreDump): Promise<void> {
  if (!(await store.isEmpty())) fail("the target database already holds data; import only into an empty data directory; nothing was written");
  await store.loadAll(dump);
}

/** What was brought in, per kind and per room, for the report. */
export function importSummary(dump: StoreDump) {
  const rooms = new Map<string, { messages: number; status: string }>();
  for (const m of dump.messages) {
    const r = rooms.get(m.room) ?? { messages: 0, status: "open" };
    r.messages++;
    rooms.set(m.room, r);
  }
  for (const s of dump.statuses) rooms.set(s.name, { messages: rooms.get(s.name)?.messages ?? 0, status: s.status });
  return {
    messages: dump.messages.length,
    claimed: dump.messages.filter((m) => m.claimedBy !== null).length,
    codes: dump.codes.length,
    hashed_codes: dump.codes.filter((c) => c.hashed).length,
    audit: dump.audit.length,
    rooms: [...rooms].sort(([a], [b]) => a.localeCompare(b)).map(([name, r]) => ({ name, ...r })),
  };
}

/**
 * Where an import writes: the SQLite data dir, or a PostgreSQL database (`open` connects and
 * migrates, `commit` and `abort` have nothing to do: the load is one transaction).
 */
export interface ImportTarget {
  /** Where the data goes, for the report (a database URL with its password masked). */
  readonly where: string;
  /** The store to fill (created empty when missing). */
  open(): Promise<Store & BulkStore>;
  /** Before the store is closed: 1.0's admin token becomes the target's (the file, or the database's). */
  keepToken(store: Store & BulkStore, token: string): Promise<void>;
  /** After the filled store is closed: makes it the data dir's database (with the kept token). */
  commit(): void;
  /** After a failure, the store closed: removes whatever `open` created. */
  abort(): void;
}

/**
 * The data dir's SQLite database. In place (the 1.0 file is the data dir's own argybargy.db)
 * the new database is built under a temporary name and renamed over the 1.0 file at the end.
 */
export function sqliteImportTarget(dataDir: DataDir, inPlace: boolean): ImportTarget {
  const dbPath = inPlace ? join(dataDir.path, `.argybargy.db.import-${process.pid}.tmp`) : dataDir.dbPath;
  let created = false;
  let keptToken: string | null = null;
  return {
    where: dataDir.dbPath,
    async open() {
      created = !existsSync(dbPath);
      return SqliteStore.open(dbPath);
    },
    // The token file is written with the database, in commit: a failed import leaves none behind.
    async keepToken(_store, token) {
      keptToken = token;
    },
    commit() {
      if (inPlace) {
        // 1.0's WAL files would be replayed into the new file: they go first (the backup holds their content).
        rmSync(`${dataDir.dbPath}-wal`, { force: true });
        rmSync(`${dataDir.dbPath}-shm`, { force: true });
        renameSync(dbPath, dataDir.dbPath);
      }
      if (keptToken) dataDir.writeToken(keptToken);
    },
    abort() {
      if (created) for (const suffix of ["", "-wal", "-shm"]) rmSync(`${dbPath}${suffix}`, { force: true });
    },
  };
}

/** A PostgreSQL database (ARGYBARGY_DATABASE_URL): filled in one transaction, the admin token stored in it. */
export function postgresImportTarget(url: string): ImportTarget {
  return {
    where: maskUrl(url),
    open: () => PgStore.open(url, { max: 2 }),
    async keepToken(store, token) {
      await new PgSharedState(store as PgStore).saveAdminToken(token, false);
    },
    commit() {},
    abort() {},
  };
}

const real = (p: string) => (existsSync(p) ? realpathSync(p) : resolve(p));

/**
 * `argybargy import <dir>`: brings an argybargy 1.0 data directory into the 1.1 data dir
 * (ARGYBARGY_DATA, which may be the same directory), or into an empty PostgreSQL database when
 * ARGYBARGY_DATABASE_URL is set. The whole 1.0 file is read and checked before anything is
 * written; then a copy of it is kept as argybargy.db.v1.bak (0600; beside the 1.0 file for
 * PostgreSQL), the data is written in one transaction (for SQLite beside the old file and renamed
 * over it when the directories are the same), and 1.0's admin.token becomes the token. Refuses a second run.
 */
export const importCommand = defineCommand({
  meta: { name: "import", description: "Bring an argybargy 1.0 data directory into this data directory (or ARGYBARGY_DATABASE_URL's empty PostgreSQL database)" },
  args: {
    dir: { type: "positional", required: true, description: "The 1.0 data directory (holding argybargy.db)" },
    json: { type: "boolean", description: "Print one JSON document (the counts brought in)" },
  },
  async run(ctx) {
    const { config, out } = setupVerb(ctx);
    const source = resolve(ctx.args.dir);
    const sourceDb = join(source, "argybargy.db");
    if (!existsSync(sourceDb)) fail(`${source} holds no argybargy.db; give the 1.0 data directory`);
    const target = new DataDir(config.dataDir);
    // Into PostgreSQL the 1.0 file's copy stays beside it; into a data dir, in the data dir.
    const backupPath = config.databaseUrl ? join(source, V1_BACKUP) : join(target.path, V1_BACKUP);
    if (existsSync(backupPath)) fail(`${backupPath} already exists: this ${config.databaseUrl ? "1.0 directory was imported" : "data directory was imported into"} before; nothing was changed`);
    const sameDir = real(source) === real(target.path);

    let dump: StoreDump;
    try {
      dump = readV1(sourceDb, { hashCodes: config.hashCodes });
    } catch (err) {
      fail(`cannot import: ${oneLine((err as Error).message)}; nothing was written`);
    }
    let token: string | null = null;
    try {
      token = readFileSync(join(source, "admin.token"), "utf8").trim() || null;
    } catch {
      token = null;
    }

    let into: ImportTarget;
    if (config.databaseUrl) into = postgresImportTarget(config.databaseUrl);
    else {
      try {
        target.ensure();
      } catch (err) {
        fail((err as Error).message);
      }
      into = sqliteImportTarget(target, sameDir);
    }
    let store: (Store & BulkStore) | null = null;
    try {
      backupV1(sourceDb, backupPath);
      store = await into.open();
      await loadV1Into(store, dump);
      if (token) await into.keepToken(store, token);
      await store.close();
      store = null;
      into.commit();
    } catch (err) {
      await store?.close();
      into.abort();
      rmSync(backupPath, { force: true });
      if (err instanceof CliExit) throw err;
      fail(`cannot import: ${oneLine((err as Error).message)}; nothing was written`);
    }

    const summary = importSummary(dump);
    if (ctx.args.json) {
      out.json({ source, ...(config.databaseUrl ? { database: into.where } : { data_dir: target.path }), backup: backupPath, admin_token_kept: token !== null, ...summary });
      return;
    }
    out.success(`Imported argybargy 1.0 data from ${source} into ${config.databaseUrl ? into.where : target.path}.`);
    out.line(`  messages:    ${summary.messages} (${summary.claimed} claimed)`);
    out.line(`  rooms:       ${summary.rooms.length}`);
    for (const r of summary.rooms) out.line(`    #${r.name}: ${r.messages} message(s), ${r.status}`);
    out.line(`  codes:       ${summary.codes} (${summary.hashed_codes} stored hashed)`);
    out.line(`  audit rows:  ${summary.audit}`);
    out.line(`  admin token: ${token ? `1.0's admin.token kept${config.databaseUrl ? " (in the database)" : ""}` : "none in the 1.0 directory; serve will create one"}`);
    out.line(`  backup:      ${backupPath}`);
  },
});
