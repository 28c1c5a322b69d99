import { afterAll, expect, test } from "bun:test";
import { LOCK_MIGRATE, PG_MIGRATIONS } from "../../src/store/pg-migrations.ts";
import { PgStore } from "../../src/store/postgres.ts";
import { freshSchema, freshSchemaUrl, testDatabaseUrl, withSchema } from "../pg-cluster.ts";

const stores: PgStore[] = [];
afterAll(async () => {
  for (const s of stores) await s.close();
});

test("an instance starting while another creates the same new schema waits for it and opens the schema, migrated once", async () => {
  const url = await testDatabaseUrl();
  const schema = freshSchema();
  // The other instance, held at its most delicate point: the schema created, not yet committed.
  const other = new Bun.SQL({ url, max: 1 });
  let second: Promise<PgStore> | undefined;
  try {
    await other.begin(async (tx) => {
      await tx`SELECT pg_advisory_xact_lock(${LOCK_MIGRATE}::bigint)`;
      await tx`CREATE SCHEMA ${tx(schema)}`;
      second = PgStore.open(withSchema(url, schema), { max: 2 });
      second.catch(() => {});
      await Bun.sleep(300);
    });
  } finally {
    await other.close();
  }
  const store = await second!;
  stores.push(store);
  const marker = await store.sql`SELECT application_id, version FROM argybargy_schema`;
  expect(marker.map((r: { application_id: string; version: number }) => [r.application_id, r.version])).toEqual([["argybargy", PG_MIGRATIONS.length]]);
  const posted = await store.insertMessage({ room: "r", from: "a", to: "all", text: "hello", expectsReply: "none", nowMs: 1, refuseIfClosed: true,
    maxRooms: 0, retention: 0, replyTo: null, thread: null, byOperator: false, loopGuard: 0, idempotency: null });
  expect(posted.ok && posted.message.seq).toBe(1);
});

test("instances started together on a new schema all open it", async () => {
  const url = await freshSchemaUrl();
  const opened = await Promise.allSettled(Array.from({ length: 6 }, () => PgStore.open(url, { max: 2 })));
  for (const o of opened) if (o.status === "fulfilled") stores.push(o.value);
  expect(opened.map((o) => (o.status === "fulfilled" ? "open" : String((o.reason as Error).message)))).toEqual(Array(6).fill("open"));
  // One schema for all: a post through one is read through another.
  const posted = await stores.at(-6)!.insertMessage({ room: "r", from: "a", to: "all", text: "hello", expectsReply: "none", nowMs: 1, refuseIfClosed: true,
    maxRooms: 0, retention: 0, replyTo: null, thread: null, byOperator: false, loopGuard: 0, idempotency: null });
  expect(posted.ok).toBe(true);
  expect((await stores.at(-1)!.readTail("r", 5)).messages.map((m) => m.text)).toEqual(["hello"]);
});
