import { expect, test } from "bun:test";
import { newTestApp } from "../helpers.ts";

// Issue 10 item 3: reply_to joins the parent's thread; /history?thread=N returns one thread.

test("replies carry reply_to and the root's seq as thread; history filters one thread", async () => {
  const t = newTestApp({ ARGYBARGY_RATE_MAX: "0" });
  const alice = await t.invite("alice", "lab");
  const bob = await t.invite("bob", "lab");
  const carol = await t.invite("carol", "lab");
  const root = (await alice.req("POST", "/messages", { text: "plan for friday?" })).json.message;
  expect(root).toMatchObject({ seq: 1, reply_to: null, thread: 1 });
  expect((await bob.req("POST", "/messages", { text: "ship it", reply_to: 1 })).json.message).toMatchObject({ seq: 2, reply_to: 1, thread: 1 });
  expect((await carol.req("POST", "/messages", { text: "after tests", reply_to: 2 })).json.message).toMatchObject({ seq: 3, reply_to: 2, thread: 1 });
  await alice.req("POST", "/messages", { text: "other topic" });
  const op = await t.admin("POST", "/admin/say", { room: "lab", text: "agreed", reply_to: 3 });
  expect(op.json.message).toMatchObject({ seq: 5, reply_to: 3, thread: 1 });

  const thread = (await carol.req("GET", "/history?thread=1")).json.messages;
  expect(thread.map((m: any) => [m.seq, m.reply_to, m.thread])).toEqual([[1, null, 1], [2, 1, 1], [3, 2, 1], [5, 3, 1]]);
  expect((await carol.req("GET", "/history?thread=4")).json.messages.map((m: any) => m.seq)).toEqual([4]);
  // Every read path carries the thread fields.
  const poll = (await bob.req("GET", "/messages?since=0")).json.messages;
  expect(poll.map((m: any) => m.thread)).toEqual([1, 1, 1, 4, 1].filter((_, i) => i !== 1));
  const state = (await t.admin("GET", "/admin/state?room=lab")).json.messages;
  expect(state.map((m: any) => m.reply_to)).toEqual([null, 1, 2, null, 3]);
});

test("reply_to of an unknown, invisible or malformed seq is a clear 422 and stores nothing", async () => {
  const t = newTestApp();
  const alice = await t.invite("alice", "lab");
  const bob = await t.invite("bob", "lab");
  const carol = await t.invite("carol", "lab");
  await t.invite("olga", "other");
  await alice.req("POST", "/messages", { text: "just for bob", to: "bob" });
  await t.admin("POST", "/admin/say", { room: "other", text: "elsewhere" });
  const cases: [string, unknown][] = [["unknown", 99], ["a DM between others", 1], ["zero", 0], ["a string", "1"], ["a fraction", 1.5]];
  for (const [label, replyTo] of cases) {
    const r = await carol.req("POST", "/messages", { text: "re", reply_to: replyTo });
    expect({ label, status: r.status, error: r.json.error, field: r.json.field }).toEqual({ label, status: 422, error: "invalid", field: "reply_to" });
  }
  expect((await carol.req("POST", "/messages", { text: "re", reply_to: 1 })).json.message).toContain("not a message you can see");
  // The DM's parties may reply to it; the operator may reply to anything in the room.
  expect((await bob.req("POST", "/messages", { text: "thanks", reply_to: 1 })).json.message).toMatchObject({ seq: 2, thread: 1 });
  expect((await t.admin("POST", "/admin/say", { room: "lab", text: "noted", reply_to: 1 })).status).toBe(200);
  expect((await t.admin("POST", "/admin/say", { room: "lab", text: "x", reply_to: 42 })).json).toMatchObject({ error: "invalid", field: "reply_to" });
  for (const bad of ["0", "x", "-1", "1.5"]) {
    const r = await carol.req("GET", `/history?thread=${bad}`);
    expect({ bad, status: r.status, field: r.json.field }).toEqual({ bad, status: 422, field: "thread" });
  }
  // Only the valid posts were stored: bob's reply and the operator's (each visible to carol).
  expect((await carol.req("GET", "/history")).json.messages.map((m: any) => m.seq)).toEqual([2, 3]);
  expect(t.errors).toEqual([]);
});
