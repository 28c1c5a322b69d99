import { spawn, spawnSync } from "node:child_process";
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";

/**
 * A private PostgreSQL cluster for tests that need their own server (restarts, fsync on), the
 * TypeScript twin of scripts/pg-harness: loopback only, a private socket dir, as the postgres
 * user when running as root. `stop`/`start` restart it on the same port and data.
 */
export class PgCluster {
  private constructor(readonly dir: string, readonly port: number, private readonly bin: string, private readonly options: string) {}

  get url(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/postgres`;
  }

  /** initdb and start; `fsync` on for durability tests (off is much faster). */
  static async create(opts: { fsync?: boolean } = {}): Promise<PgCluster> {
    const bin = pgBin();
    const dir = mkdtempSync("/tmp/argy-pgt.");
    chmodSync(dir, 0o755);
    mkdirSync(join(dir, "sock"));
    const root = process.getuid?.() === 0;
    if (root) {
      const { uid, gid } = postgresUser();
      chownSync(dir, uid, gid);
      chownSync(join(dir, "sock"), uid, gid);
    }
    run(bin, "initdb", ["-D", join(dir, "data"), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync"]);
    const port = await freePort();
    const durable = opts.fsync ? "-c fsync=on -c synchronous_commit=on" : "-c fsync=off -c synchronous_commit=off -c full_page_writes=off";
    const cluster = new PgCluster(dir, port, bin, `-p ${port} -k ${join(dir, "sock")} -c listen_addresses=127.0.0.1 -c max_connections=300 ${durable}`);
    cluster.start();
    cluster.watchParent();
    return cluster;
  }

  /** A detached watchdog removes the cluster once this test process is gone, however it ended. */
  private watchParent(): void {
    const stop = process.getuid?.() === 0 ? `runuser -u postgres -- ${this.bin}/pg_ctl` : `${this.bin}/pg_ctl`;
    const script = `while kill -0 ${process.pid} 2>/dev/null; do sleep 1; done; ${stop} -D ${this.dir}/data -m immediate -w stop >/dev/null 2>&1; rm -rf ${this.dir}`;
    spawn("bash", ["-c", script], { detached: true, stdio: "ignore" }).unref();
  }

  start(): void {
    run(this.bin, "pg_ctl", ["-D", join(this.dir, "data"), "-l", join(this.dir, "server.log"), "-w", "-t", "30", "-o", this.options, "start"]);
  }

  /** Fast shutdown: open connections are terminated, as in a database restart. */
  stop(): void {
    if (existsSync(join(this.dir, "data", "postmaster.pid"))) run(this.bin, "pg_ctl", ["-D", join(this.dir, "data"), "-m", "fast", "-w", "stop"]);
  }

  /** Immediate shutdown: no checkpoint, the next start replays the WAL, as after a crash of the server. */
  crash(): void {
    if (existsSync(join(this.dir, "data", "postmaster.pid"))) run(this.bin, "pg_ctl", ["-D", join(this.dir, "data"), "-m", "immediate", "-w", "stop"]);
  }

  destroy(): void {
    try {
      if (existsSync(join(this.dir, "data", "postmaster.pid"))) run(this.bin, "pg_ctl", ["-D", join(this.dir, "data"), "-m", "immediate", "-w", "stop"]);
    } finally {
      rmSync(this.dir, { recursive: true, force: true });
    }
  }
}

function pgBin(): string {
  const base = "/usr/lib/postgresql";
  for (const v of existsSync(base) ? readdirSync(base).sort().reverse() : []) {
    if (existsSync(join(base, v, "bin", "initdb"))) return join(base, v, "bin");
  }
  throw new Error("PostgreSQL's server binaries are missing; run the suite through scripts/test (it installs them) or set ARGYBARGY_TEST_DATABASE_URL");
}

function postgresUser(): { uid: number; gid: number } {
  const out = spawnSync("id", ["-u", "postgres"], { encoding: "utf8" });
  const gid = spawnSync("id", ["-g", "postgres"], { encoding: "utf8" });
  if (out.status !== 0) throw new Error("no postgres user to run the test cluster as");
  return { uid: Number(out.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

function run(bin: string, tool: string, args: string[]): void {
  const root = process.getuid?.() === 0;
  const cmd = root ? "runuser" : join(bin, tool);
  const argv = root ? ["-u", "postgres", "--", join(bin, tool), ...args] : args;
  const r = spawnSync(cmd, argv, { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`${tool} failed: ${r.stderr || r.stdout}`);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

let shared: Promise<PgCluster> | null = null;

/**
 * The suite's PostgreSQL: ARGYBARGY_TEST_DATABASE_URL (scripts/test sets it), or else a private
 * cluster for this test process (so a single file runs on its own), removed at exit.
 */
export async function testDatabaseUrl(): Promise<string> {
  const url = process.env.ARGYBARGY_TEST_DATABASE_URL;
  if (url) return url;
  shared ??= PgCluster.create();
  return (await shared).url;
}

/** Synchronous variant for helpers that cannot await; only the environment variable. */
export function testDatabaseUrlSync(): string {
  const url = process.env.ARGYBARGY_TEST_DATABASE_URL;
  if (!url) throw new Error("ARGYBARGY_TEST_DATABASE_URL is not set; run through scripts/test");
  return url;
}

/** Every test schema starts so; scripts/test drops them afterwards on a server it did not start. */
export const TEST_SCHEMA_PREFIX = "argy_test_";

/** `url` with a `?schema=` of its own (`schema`, else a fresh one): what PgStore and the CLI take. */
export function withSchema(url: string, schema = freshSchema()): string {
  const u = new URL(url);
  u.searchParams.set("schema", schema);
  return u.toString();
}

/** The suite's database with a fresh schema no other test uses. */
export async function freshSchemaUrl(): Promise<string> {
  return withSchema(await testDatabaseUrl());
}

let schemas = 0;
/** A schema name no other test (in any process) uses. */
export function freshSchema(): string {
  return `${TEST_SCHEMA_PREFIX}${process.pid}_${Date.now().toString(36)}_${schemas++}`;
}

/** Drops the test schemas left on the server at `url` (run with `bun tests/pg-cluster.ts --drop-test-schemas`). */
export async function dropTestSchemas(url: string): Promise<number> {
  const { SQL } = await import("bun");
  const sql = new SQL({ url, max: 1 });
  try {
    const rows = await sql`SELECT nspname FROM pg_namespace WHERE starts_with(nspname, ${TEST_SCHEMA_PREFIX})`;
    for (const r of rows) await sql`DROP SCHEMA ${sql(r.nspname)} CASCADE`;
    return rows.length;
  } finally {
    await sql.close();
  }
}

if (import.meta.main && process.argv.includes("--drop-test-schemas")) {
  const n = await dropTestSchemas(process.env.ARGYBARGY_TEST_DATABASE_URL ?? "");
  console.error(`pg-cluster: dropped ${n} test schema(s)`);
}
