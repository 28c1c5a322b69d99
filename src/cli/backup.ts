import { defineCommand } from "citty";
import { resolve } from "node:path";
import { backupDatabase } from "../store/backup.ts";
import { DataDir } from "../store/files.ts";
import { oneLine, setupVerb } from "./context.ts";
import { fail } from "./output.ts";

/**
 * `argybargy backup <file>`: a consistent copy (0600) of the data dir's database, taken on a
 * second connection while the server may go on running. Refuses an existing file unless --force.
 */
export const backupCommand = defineCommand({
  meta: { name: "backup", description: "Copy the live database to a file (the server may keep running)" },
  args: {
    file: { type: "positional", required: true, description: "Where to write the copy" },
    force: { type: "boolean", description: "Overwrite the file when it exists" },
    json: { type: "boolean", description: "Print one JSON document (file, bytes, messages, codes)" },
  },
  run(ctx) {
    const { config, out } = setupVerb(ctx);
    // The PostgreSQL store is not this verb's: say so rather than quietly writing a SQLite file beside it.
    if (config.databaseUrl) fail("backup copies the SQLite store of ARGYBARGY_DATA; with ARGYBARGY_DATABASE_URL set, back PostgreSQL up with pg_dump; nothing was changed");
    const file = resolve(ctx.args.file);
    let report;
    try {
      report = backupDatabase(new DataDir(config.dataDir).dbPath, file, { force: Boolean(ctx.args.force) });
    } catch (err) {
      fail(`cannot back up: ${oneLine((err as Error).message)}`);
    }
    if (ctx.args.json) {
      out.json({ file, bytes: report.bytes, messages: report.messages, codes: report.codes, schema_version: report.schemaVersion });
      return;
    }
    out.success(`Backed up ${report.messages} message(s) and ${report.codes} code(s) to ${file} (${report.bytes} bytes).`);
  },
});
