import { expect, test } from "bun:test";
import { join } from "node:path";
import { LocalBus } from "../../src/relay/bus.ts";
import { Operator } from "../../src/relay/operator.ts";
import { Relay } from "../../src/relay/relay.ts";
import { SqliteStore } from "../../src/store/sqlite.ts";
import { ADMIN_TOKEN, newTestApp, tempDir, TestClock, testConfig } from "../helpers.ts";

// Issue 10 item 5: after N agent messages in a row without the operator, agent posts get 429
// room_paused until the operator speaks or resumes the room.

test("two agents ping-ponging are paused at exactly N; one operator message resumes them", async () => {
  const t = newTestApp({ ARGYBARGY_LOOP_GUARD: "6", ARGYBARGY_RATE_MAX: "0" });
  const alice = await t.invite("alice", "lab");
  const bob = await t.invite("bob", "lab");
  const pair = [alice, bob];
  const statuses: number[] = [];
  for (let i = 0; i < 8; i++) statuses.push((await pair[i % 2]!.req("POST", "/messages", { text: `thanks! (${i})` })).status);
  expect(statuses).toEqual([200, 200, 200, 200, 200, 200, 429, 429]);
  const refused = await alice.req("POST", "/messages", { text: "one more" });
  expect(refused.json).toMatchObject({ error: "room_paused", room: "lab", limit: 6 });
  expect(refused.json.message).toContain("operator");
  expect((await bob.req("GET", "/messages?since=0")).json).toMatchObject({ paused: true });
  const room = (await t.admin("GET", "/admin/state")).json.rooms.find((r: any) => r.room === "lab");
  expect(room).toMatchObject({ paused: true, agent_run: 6, messages: 6 });
  // Another room is not affected.
  const olga = await t.invite("olga", "side");
  expect((await olga.req("POST", "/messages", { text: "hi" })).status).toBe(200);

  expect((await t.admin("POST", "/admin/say", { room: "lab", text: "ok, wrap it up" })).status).toBe(200);
  expect((await bob.req("GET", "/messages?since=0")).json.paused).toBe(false);
  expect((await alice.req("POST", "/messages", { text: "done" })).status).toBe(200);
  expect((await t.admin("GET", "/admin/state")).json.rooms.find((r: any) => r.room === "lab")).toMatchObject({ paused: false, agent_run: 1 });
  expect(t.errors).toEqual([]);
});

test("resume lifts the pause without a message; it is audited and wakes the room's change feed", async () => {
  const t = newTestApp({ ARGYBARGY_LOOP_GUARD: "2" });
  const alice = await t.invite("alice", "lab");
  await alice.req("POST", "/messages", { text: "1" });
  await alice.req("POST", "/messages", { text: "2" });
  expect((await alice.req("POST", "/messages", { text: "3" })).status).toBe(429);
  const feed = (await t.admin("GET", "/admin/changes")).json.cursor;
  expect((await t.admin("POST", "/admin/rooms/lab/resume")).json).toEqual({ ok: true, room: "lab", paused: false });
  expect((await t.admin("GET", `/admin/changes?since=${feed}`)).json.rooms).toEqual(["lab"]);
  expect((await alice.req("POST", "/messages", { text: "3" })).status).toBe(200);
  expect((await t.admin("GET", "/admin/stats")).json.messages).toBe(3);
  expect((await t.admin("POST", "/admin/rooms/Bad%20Room/resume")).status).toBe(422);
  const events = (await t.admin("GET", "/admin/audit")).json.events.map((e: any) => e.action);
  expect(events).toContain("room_resume");
});

test("the pause survives a restart (counted on the room aggregate); 0 turns the guard off; 50 is the default", async () => {
  const dir = tempDir();
  try {
    const path = join(dir.path, "argybargy.db");
    const open = (guard: string) => {
      const store = SqliteStore.open(path);
      const relay = new Relay({ store, bus: new LocalBus(), clock: new TestClock(), limits: testConfig({ ARGYBARGY_LOOP_GUARD: guard, ARGYBARGY_RATE_MAX: "0" }), adminToken: ADMIN_TOKEN });
      return { store, relay, operator: new Operator(relay, { save: () => {} }) };
    };
    const agent = { name: "alice", room: "lab", capabilities: "" };
    const first = open("3");
    for (let i = 0; i < 3; i++) await first.relay.post(agent, { text: `m${i}` });
    await first.store.close();
    const second = open("3");
    await expect(second.relay.post(agent, { text: "again" })).rejects.toMatchObject({ code: "room_paused" });
    expect((await second.relay.read(agent, 0, 0))!.paused).toBe(true);
    await second.store.close();
    const off = open("0");
    expect((await off.relay.post(agent, { text: "guard off" })).seq).toBe(4);
    await off.store.close();
  } finally {
    dir.cleanup();
  }
  expect(testConfig({ ARGYBARGY_LOOP_GUARD: "" }).loopGuard).toBe(50);
});
