import { afterAll, expect, test } from "bun:test";
import { PgStore } from "../../src/store/postgres.ts";
import { INSERT_DEFAULTS } from "../helpers.ts";
import { freshSchemaUrl } from "../pg-cluster.ts";

const stores: PgStore[] = [];
afterAll(async () => {
  for (const s of stores) await s.close();
});

test("after step 4 an instance of the previous build still posts through step 3's argy_post, in the same seq order", async () => {
  const store = await PgStore.open(await freshSchemaUrl(), { max: 2 });
  stores.push(store);
  const first = await store.insertMessage({ ...INSERT_DEFAULTS, room: "r", from: "a", to: "all", text: "new build", expectsReply: "b", nowMs: 1, refuseIfClosed: true, maxRooms: 0, retention: 0 });
  expect(first.ok && first.message.seq).toBe(1);
  // The call a 1.2 instance makes (18 arguments): b's post answers a's question.
  const [old] = await store.sql`SELECT o_seq, o_reason FROM argy_post(ARRAY['r'], ARRAY['b'], ARRAY['all'], ARRAY['old build'], ARRAY[false],
    ARRAY['none'], ARRAY[true], ARRAY[2]::bigint[], ARRAY[0]::bigint[], 0::bigint, ARRAY[0]::bigint[], ARRAY[0]::bigint[], ARRAY[false],
    ARRAY[0]::bigint[], ARRAY['']::text[], ARRAY['']::text[], ARRAY['']::text[], ARRAY[0]::bigint[])`;
  expect([Number(old.o_seq), old.o_reason]).toEqual([2, null]);
  expect(await store.waiting(10)).toEqual([]);
  expect((await store.readTail("r", 10)).messages.map((m) => [m.seq, m.text])).toEqual([[1, "new build"], [2, "old build"]]);
});
