import { defineCommand } from "citty";
import { resolve } from "node:path";
import { restoreDatabase } from "../store/backup.ts";
import { DataDir } from "../store/files.ts";
import { oneLine, setupVerb } from "./context.ts";
import { fail } from "./output.ts";

/**
 * `argybargy restore <file>`: puts a backup back as the data dir's database, which must not
 * exist yet, after PRAGMA integrity_check and the application id and version checks.
 */
export const restoreCommand = defineCommand({
  meta: { name: "restore", description: "Put a backup back into a data directory without a database" },
  args: {
    file: { type: "positional", required: true, description: "A file written by argybargy backup" },
    json: { type: "boolean", description: "Print one JSON document (file, bytes, messages, codes)" },
  },
  run(ctx) {
    const { config, out } = setupVerb(ctx);
    // The PostgreSQL store is not this verb's: say so rather than quietly writing a SQLite file beside it.
    if (config.databaseUrl) fail("restore writes the SQLite store of ARGYBARGY_DATA; with ARGYBARGY_DATABASE_URL set, restore PostgreSQL with pg_restore (or restore into a data dir, then argybargy migrate --to); nothing was changed");
    const file = resolve(ctx.args.file);
    const dataDir = new DataDir(config.dataDir);
    let report;
    try {
      dataDir.ensure();
      report = restoreDatabase(file, dataDir.dbPath);
    } catch (err) {
      fail(`cannot restore: ${oneLine((err as Error).message)}; nothing was written`);
    }
    if (ctx.args.json) {
      out.json({ file, database: dataDir.dbPath, bytes: report.bytes, messages: report.messages, codes: report.codes, schema_version: report.schemaVersion });
      return;
    }
    out.success(`Restored ${report.messages} message(s) and ${report.codes} code(s) from ${file} into ${dataDir.dbPath}.`);
    if (dataDir.readToken() === null) out.line("No admin.token here: serve creates a new one (argybargy token prints it).");
  },
});
