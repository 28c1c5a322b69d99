import { defineCommand } from "citty";
import { existsSync } from "node:fs";
import type { StoreDump } from "../relay/ports.ts";
import { DataDir } from "../store/files.ts";
import { PgSharedState } from "../store/pg-shared.ts";
import { isPostgresUrl, maskUrl, PgStore } from "../store/postgres.ts";
import { SqliteStore } from "../store/sqlite.ts";
import { oneLine, setupVerb } from "./context.ts";
import { fail } from "./output.ts";

/** How many of each thing a dump holds; the migration is verified on these (and on the whole dump). */
export function dumpCounts(d: StoreDump) {
  return {
    messages: d.messages.length, rooms: new Set([...d.messages.map((m) => m.room), ...d.statuses.map((s) => s.name)]).size,
    statuses: d.statuses.length, codes: d.codes.length, claims: d.messages.filter((m) => m.claimedBy !== null).length,
    audit: d.audit.length, cursors: d.cursors.length, posters: d.posters?.length ?? 0, receipt_marks: d.receiptMarks?.length ?? 0,
    idempotency_keys: d.idempotencyKeys?.length ?? 0,
  };
}

/**
 * `argybargy migrate --to postgres://…`: copies the data dir's SQLite database (messages with
 * their seqs and claims, rooms, codes as stored, audit, cursors, posters, receipt marks, idempotency
 * keys) and its admin token
 * into an EMPTY PostgreSQL database in one transaction, then reads it back and verifies it.
 */
export const migrateCommand = defineCommand({
  meta: { name: "migrate", description: "Copy the SQLite data dir into an empty PostgreSQL database (stop the server first)" },
  args: {
    to: { type: "string", required: true, description: "The target: postgres://user:password@host:port/database (empty)" },
    json: { type: "boolean", description: "Print one JSON document (target, counts)" },
  },
  async run(ctx) {
    const { config, out } = setupVerb(ctx);
    const to = String(ctx.args.to ?? "").trim();
    if (!isPostgresUrl(to)) fail("--to must be a postgres:// (or postgresql://) URL");
    const dataDir = new DataDir(config.dataDir);
    if (!existsSync(dataDir.dbPath)) fail(`there is no database at ${dataDir.dbPath}; set ARGYBARGY_DATA to the data dir to migrate`);
    let source: SqliteStore | undefined;
    let target: PgStore | undefined;
    let counts: ReturnType<typeof dumpCounts>;
    try {
      source = SqliteStore.open(dataDir.dbPath);
      target = await PgStore.open(to, { max: 2 });
      if (!(await target.isEmpty())) throw new Error(`${maskUrl(to)} already holds argybargy data; migrate only into an empty database`);
      const dump = await source.dumpAll();
      await target.loadAll(dump);
      const back = await target.dumpAll();
      counts = dumpCounts(dump);
      const got = dumpCounts(back);
      if (JSON.stringify(got) !== JSON.stringify(counts)) throw new Error(`verification failed: wrote ${JSON.stringify(counts)} but read back ${JSON.stringify(got)}`);
      if (JSON.stringify(back) !== JSON.stringify(dump)) throw new Error("verification failed: the rows read back differ from the source");
      const token = dataDir.readToken();
      if (token) await new PgSharedState(target).saveAdminToken(token, true);
    } catch (err) {
      fail(`cannot migrate: ${oneLine((err as Error).message)}`);
    } finally {
      await source?.close();
      await target?.close();
    }
    if (ctx.args.json) {
      out.json({ target: maskUrl(to), ...counts });
      return;
    }
    out.success(`Migrated ${counts.messages} message(s) in ${counts.rooms} room(s), ${counts.codes} code(s), ${counts.claims} claim(s), `
      + `${counts.audit} audit row(s) and ${counts.cursors} cursor(s) to ${maskUrl(to)}; read back and verified.`);
    out.line(`Next: start every instance with ARGYBARGY_DATABASE_URL (or --database) set to that URL; ${dataDir.dbPath} is left as it was.`);
  },
});
