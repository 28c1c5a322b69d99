import { expect, test } from "bun:test";
import { join } from "node:path";
import { LocalBus } from "../../src/relay/bus.ts";
import { agentScope } from "../../src/relay/idempotency.ts";
import { Relay } from "../../src/relay/relay.ts";
import { SqliteStore } from "../../src/store/sqlite.ts";
import { ADMIN_TOKEN, INSERT_DEFAULTS, newTestApp, tempDir, TestClock, testConfig } from "../helpers.ts";

// Issue 10 item 4: a retried post with the same Idempotency-Key never creates a duplicate.

const keyed = (t: ReturnType<typeof newTestApp>, code: string, key: string, body: unknown) =>
  t.req("POST", "/messages", { body, headers: { authorization: `Bearer ${code}`, "idempotency-key": key } });

test("100 concurrent retries of one keyed post: one stored message, 100 equal answers", async () => {
  const t = newTestApp({ ARGYBARGY_RATE_MAX: "0" });
  const alice = await t.invite("alice", "lab");
  const bob = await t.invite("bob", "lab");
  const body = { text: "deploy finished", expects_reply: "none" };
  const answers = await Promise.all(Array.from({ length: 100 }, () => keyed(t, alice.code, "deploy-42", body)));
  expect(answers.map((a) => a.status)).toEqual(Array(100).fill(200));
  expect(new Set(answers.map((a) => a.text)).size).toBe(1);
  expect(answers[0]!.json.message).toMatchObject({ seq: 1, text: "deploy finished" });
  expect((await bob.req("GET", "/messages?since=0")).json.messages).toHaveLength(1);
  // A later retry (from the durable table) gets the same first answer.
  const later = await keyed(t, alice.code, "deploy-42", body);
  expect(later.text).toBe(answers[0]!.text);
  // Another agent's key space is its own.
  expect((await keyed(t, bob.code, "deploy-42", body)).json.message.seq).toBe(2);
  expect((await t.admin("GET", "/admin/stats")).json.messages).toBe(2);
});

test("a different body under a used key is 422; keys over 200 characters are 422; keys last 24 h", async () => {
  const t = newTestApp({ ARGYBARGY_RATE_MAX: "0" });
  const alice = await t.invite("alice", "lab");
  expect((await keyed(t, alice.code, "k1", { text: "one" })).status).toBe(200);
  const clash = await keyed(t, alice.code, "k1", { text: "two" });
  expect({ status: clash.status, error: clash.json.error, field: clash.json.field }).toEqual({ status: 422, error: "idempotency_key_reused", field: "Idempotency-Key" });
  const long = await keyed(t, alice.code, "x".repeat(201), { text: "three" });
  expect({ status: long.status, error: long.json.error, field: long.json.field }).toEqual({ status: 422, error: "invalid", field: "Idempotency-Key" });
  expect((await keyed(t, alice.code, "x".repeat(200), { text: "three" })).status).toBe(200);
  expect((await t.admin("GET", "/admin/stats")).json.messages).toBe(2);
  t.clock.advance(24 * 3600_000 + 1000);
  const fresh = await keyed(t, alice.code, "k1", { text: "two" });
  expect(fresh.json.message.seq).toBe(3);
  expect(t.errors).toEqual([]);
});

test("/admin/say takes a key too: concurrent retries store one message", async () => {
  const t = newTestApp();
  const say = () => t.req("POST", "/admin/say", { body: { room: "lab", text: "standup now" }, headers: { "x-admin-token": t.relay.adminToken, "idempotency-key": "standup-1" } });
  const answers = await Promise.all(Array.from({ length: 20 }, say));
  expect(new Set(answers.map((a) => `${a.status} ${a.text}`)).size).toBe(1);
  expect(answers[0]!.json.message.seq).toBe(1);
  expect((await t.admin("GET", "/admin/stats")).json.messages).toBe(1);
  const other = await t.req("POST", "/admin/say", { body: { room: "lab", text: "changed" }, headers: { "x-admin-token": t.relay.adminToken, "idempotency-key": "standup-1" } });
  expect(other.json.error).toBe("idempotency_key_reused");
});

test("two processes on one database: the second finds the first's key; a key raced in the store is refused as duplicate_key", async () => {
  const dir = tempDir();
  try {
    const path = join(dir.path, "argybargy.db");
    const relayOn = (store: SqliteStore) => new Relay({ store, bus: new LocalBus(), clock: new TestClock(), limits: testConfig({ ARGYBARGY_RATE_MAX: "0" }), adminToken: ADMIN_TOKEN });
    const [a, b] = [SqliteStore.open(path), SqliteStore.open(path)];
    const alice = { name: "alice", room: "lab", capabilities: "" };
    const first = await relayOn(a).post(alice, { text: "once" }, "k-1");
    expect(await relayOn(b).post(alice, { text: "once" }, "k-1")).toEqual(first);
    await expect(relayOn(b).post(alice, { text: "twice" }, "k-1")).rejects.toMatchObject({ code: "idempotency_key_reused" });
    const key = { scope: agentScope("lab", "alice"), key: "k-1", bodyHash: "x", freshSinceMs: 0 };
    const raced = await b.insertMessage({ ...INSERT_DEFAULTS, idempotency: key, room: "lab", from: "alice", to: "all", text: "once", expectsReply: "none", nowMs: Date.now(), refuseIfClosed: true, maxRooms: 0, retention: 0 });
    expect(raced).toEqual({ ok: false, reason: "duplicate_key" });
    expect(await a.countMessages()).toBe(1);
    await a.close();
    await b.close();
  } finally {
    dir.cleanup();
  }
});

test("every issue-10 endpoint and header is in the OpenAPI document", async () => {
  const t = newTestApp();
  const doc = (await t.req("GET", "/openapi.json")).json;
  for (const path of ["/messages/{seq}/claim/renew", "/messages/{seq}/claim/release", "/messages/{seq}/receipts", "/admin/rooms/{room}/resume", "/admin/messages/{room}/{seq}/receipts"]) {
    expect(doc.paths[path]).toBeDefined();
  }
  expect(doc.paths["/messages"].post.parameters.map((p: any) => p.name)).toContain("Idempotency-Key");
  expect(doc.paths["/admin/say"].post.parameters.map((p: any) => p.name)).toContain("Idempotency-Key");
  expect(doc.paths["/history"].get.parameters.map((p: any) => p.name)).toContain("thread");
  const message = doc.components.schemas.Message.properties;
  for (const field of ["reply_to", "thread", "claim_expires_at"]) expect(message[field]).toBeDefined();
  expect(Object.keys(doc.components.schemas.AdminMessage.properties)).toEqual(expect.arrayContaining(["claim_note", "receipts"]));
});
