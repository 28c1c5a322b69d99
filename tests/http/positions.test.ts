import { expect, test } from "bun:test";
import { newTestApp } from "../helpers.ts";

test("POST /messages/ack raises the read position, never lowers it, and refuses a future seq", async () => {
  const t = newTestApp();
  const alice = await t.invite("alice");
  const bob = await t.invite("bob");
  for (const text of ["a", "b", "c"]) await alice.req("POST", "/messages", { text });
  expect((await bob.req("GET", "/messages/position")).json).toEqual({ room: "default", name: "bob", delivered_seq: 0, read_seq: 0 });
  expect((await bob.req("POST", "/messages/ack", { up_to: 2 })).json).toEqual({ ok: true, read_seq: 2, delivered_seq: 0 });
  expect((await bob.req("POST", "/messages/ack", { up_to: 1 })).json).toEqual({ ok: true, read_seq: 2, delivered_seq: 0 });
  const future = await bob.req("POST", "/messages/ack", { up_to: 4 });
  expect(future.status).toBe(422);
  expect(future.json).toMatchObject({ error: "invalid", field: "up_to" });
  for (const bad of [{}, { up_to: -1 }, { up_to: 1.5 }, { up_to: "2" }, [], { up_to: 1e300 }]) {
    const r = await bob.req("POST", "/messages/ack", bad);
    expect(r.status).toBe(422);
    expect(r.json.error).toBe("invalid");
  }
  expect((await bob.req("GET", "/messages/position")).json.read_seq).toBe(2);
  // Positions are per agent: alice's are untouched.
  expect((await alice.req("GET", "/messages/position")).json).toMatchObject({ read_seq: 0 });
  expect((await t.req("POST", "/messages/ack", { body: { up_to: 1 } })).status).toBe(401);
  expect(t.errors).toEqual([]);
});
