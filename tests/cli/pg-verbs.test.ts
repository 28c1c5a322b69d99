import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { hashCode } from "../../src/relay/codes.ts";
import { PgStore } from "../../src/store/postgres.ts";
import { tempDir } from "../helpers.ts";
import { freshSchemaUrl } from "../pg-cluster.ts";
import { cli, cliEnv, serverOn } from "./run-cli.ts";

// With ARGYBARGY_DATABASE_URL the store verbs and `token` work on PostgreSQL, beside running
// instances, and the data dir holds no database.

let dir: ReturnType<typeof tempDir>;
let env: Record<string, string>;
beforeAll(async () => {
  dir = tempDir();
  env = cliEnv(dir.path, { ARGYBARGY_DATABASE_URL: await freshSchemaUrl() });
});
afterAll(() => dir.cleanup());

test("invite, codes, room and revoke write PostgreSQL; a running instance honours them at once; token is the database's", async () => {
  const server = await serverOn(dir.path, { ARGYBARGY_DATABASE_URL: env.ARGYBARGY_DATABASE_URL! });
  try {
    const invited = JSON.parse((await cli(["invite", "--name", "alice", "--room", "lab", "--json"], env)).stdout);
    const whoami = () => fetch(`${server.url}/whoami`, { headers: { authorization: `Bearer ${invited.code}` } }).then((r) => r.status);
    expect(await whoami()).toBe(200);
    const listed = await cli(["codes", "--json"], env);
    expect(JSON.parse(listed.stdout).codes.map((c: any) => c.name)).toEqual(["alice"]);
    expect((await cli(["room", "planning", "--json"], env)).code).toBe(0);
    expect((await cli(["revoke", "alice", "--room", "lab"], env)).code).toBe(0);
    expect(await whoami()).toBe(401);
    const token = await cli(["token"], env);
    expect(token.stdout.trim()).toBe(server.adminToken);
    expect(existsSync(join(dir.path, "argybargy.db"))).toBe(false);
    const store = await PgStore.open(env.ARGYBARGY_DATABASE_URL!, { max: 1 });
    try {
      expect(await store.findCode(hashCode(invited.code))).toBeNull();
      expect((await store.listCodes()).map((c) => c.room).sort()).toEqual(["planning", "planning"]);
    } finally {
      await store.close();
    }
  } finally {
    await server.stop();
  }
});

test("a store verb on an unreachable database: exit 1, one line, no password", async () => {
  const r = await cli(["codes"], cliEnv(dir.path, { ARGYBARGY_DATABASE_URL: "postgres://ops:hunter2@127.0.0.1:1/argy" }));
  expect(r.code).toBe(1);
  expect(r.stderr.trimEnd().split("\n")).toHaveLength(1);
  expect(r.stderr).toContain("postgres://ops:***@127.0.0.1:1/argy");
  expect(r.stderr).not.toContain("hunter2");
});

test("backup and restore refuse with ARGYBARGY_DATABASE_URL set and say what to use instead; import reads its 1.0 directory first", async () => {
  const empty = tempDir();
  try {
    const e = cliEnv(empty.path, { ARGYBARGY_DATABASE_URL: env.ARGYBARGY_DATABASE_URL! });
    const backup = await cli(["backup", join(empty.path, "copy.db")], e);
    expect([backup.code, backup.stderr]).toEqual([1, expect.stringContaining("pg_dump")]);
    const restore = await cli(["restore", join(empty.path, "copy.db")], e);
    expect([restore.code, restore.stderr]).toEqual([1, expect.stringContaining("pg_restore")]);
    // import writes into the database (tests/cli/import.test.ts), but only from a 1.0 directory.
    const imported = await cli(["import", empty.path], e);
    expect([imported.code, imported.stderr]).toEqual([1, expect.stringContaining("holds no argybargy.db")]);
    expect(existsSync(join(empty.path, "copy.db")) || existsSync(join(empty.path, "argybargy.db"))).toBe(false);
  } finally {
    empty.cleanup();
  }
});
