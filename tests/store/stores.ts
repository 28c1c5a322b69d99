import { SQL } from "bun";
import { Database } from "bun:sqlite";
import { join } from "node:path";
import type { Store } from "../../src/relay/ports.ts";
import { PgStore } from "../../src/store/postgres.ts";
import { SqliteStore } from "../../src/store/sqlite.ts";
import { tempDir } from "../helpers.ts";
import { freshSchema, testDatabaseUrl } from "../pg-cluster.ts";

/** A place a store lives (a file, a schema) with ways to plant foreign or newer content in it. */
export interface StoreSite {
  open(): Promise<Store>;
  /** Plants a table that is not argybargy's. */
  plantForeign(): Promise<void>;
  /** Marks the schema as one step newer than this build knows. */
  bumpVersion(): Promise<void>;
  /** A fingerprint of the raw content, to prove a refused open touched nothing. */
  fingerprint(): Promise<string>;
  cleanup(): Promise<void>;
}

/** The two stores the contract suite runs every body against. */
export const STORE_KINDS: { name: string; site: () => Promise<StoreSite> }[] = [
  {
    name: "sqlite",
    site: async () => {
      const dir = tempDir();
      const path = join(dir.path, "argybargy.db");
      const opened: Store[] = [];
      return {
        open: async () => {
          const s = SqliteStore.open(path);
          opened.push(s);
          return s;
        },
        plantForeign: async () => {
          const db = new Database(path);
          db.run("CREATE TABLE messages (id INTEGER PRIMARY KEY, room TEXT, sender TEXT, text TEXT)");
          db.run("INSERT INTO messages (room, sender, text) VALUES ('default', 'a', 'hello')");
          db.close();
        },
        bumpVersion: async () => {
          const db = new Database(path);
          const v = (db.query("PRAGMA user_version").get() as { user_version: number }).user_version;
          db.run(`PRAGMA user_version = ${v + 1}`);
          db.close();
        },
        fingerprint: async () => Bun.hash(await Bun.file(path).arrayBuffer()).toString(),
        cleanup: async () => {
          for (const s of opened) await s.close().catch(() => {});
          dir.cleanup();
        },
      };
    },
  },
  {
    name: "postgres",
    site: async () => {
      const url = await testDatabaseUrl();
      const schema = freshSchema();
      const admin = new SQL({ url, max: 1, connection: { search_path: schema } });
      await admin`CREATE SCHEMA ${admin(schema)}`;
      const opened: Store[] = [];
      return {
        open: async () => {
          const s = await PgStore.open(url, { schema, max: 4 });
          opened.push(s);
          return s;
        },
        plantForeign: async () => {
          await admin`CREATE TABLE messages (id serial PRIMARY KEY, room text, sender text, text text)`;
          await admin`INSERT INTO messages (room, sender, text) VALUES ('default', 'a', 'hello')`;
        },
        bumpVersion: async () => {
          await admin`UPDATE argybargy_schema SET version = version + 1`;
        },
        fingerprint: async () => {
          const rows = await admin`SELECT c.relname, (xpath('/row/c/text()', query_to_xml('select count(*) as c from ' || quote_ident(c.relname), false, true, '')))[1]::text AS n
            FROM pg_class c JOIN pg_namespace s ON s.oid = c.relnamespace WHERE s.nspname = ${schema} AND c.relkind = 'r' ORDER BY c.relname`;
          const marker = await admin`SELECT to_regclass('argybargy_schema') IS NOT NULL AS m`;
          return JSON.stringify([rows, marker]);
        },
        cleanup: async () => {
          for (const s of opened) await s.close().catch(() => {});
          await admin`DROP SCHEMA ${admin(schema)} CASCADE`.catch(() => {});
          await admin.close();
        },
      };
    },
  },
];
