import { expect, test } from "bun:test";
import { newTestApp } from "../helpers.ts";

// SPEC §7.11: the operator inbox (`waiting` of /admin/state), as a table of scenarios.

type Step =
  | ["post", string, Record<string, unknown>]
  | ["say", Record<string, unknown>]
  | ["claim", string, number]
  | ["close" | "reopen", string]
  | ["invite", string, string]
  | ["revoke", string]
  | ["advance", number];

interface Scenario {
  name: string;
  /** Agents as [name, room]; default alice, bob, carol in lab. */
  agents?: [string, string][];
  env?: Record<string, string>;
  steps: Step[];
  /** The inbox afterwards, as texts in order (or [text, expects_reply_resolved]). */
  waiting: (string | [string, string])[];
}

const q = (text: string, expects_reply = "anyone", extra: Record<string, unknown> = {}) => ({ text, expects_reply, ...extra });

const SCENARIOS: Scenario[] = [
  { name: "expects_reply none is never listed", steps: [["post", "alice", { text: "fyi" }]], waiting: [] },
  { name: "a named question is listed until the named party speaks", steps: [["post", "alice", q("Q", "bob")]], waiting: ["Q"] },
  {
    name: "any later message from the named party answers, whatever it says or whom it addresses",
    steps: [["post", "alice", q("Q", "bob")], ["post", "bob", { text: "bob to carol", to: "carol" }]],
    waiting: ["bob to carol"], // bob's DM is itself a question for carol
  },
  { name: "someone else's post does not answer a named question", steps: [["post", "alice", q("Q", "bob")], ["post", "carol", { text: "me?" }]], waiting: ["Q"] },
  { name: "earlier messages never answer", steps: [["post", "bob", { text: "earlier" }], ["post", "alice", q("Q", "bob")]], waiting: ["Q"] },
  { name: "anyone is answered by another agent's post", steps: [["post", "alice", q("Q")], ["post", "carol", { text: "on it" }]], waiting: [] },
  { name: "the asker's follow-up is not an answer", steps: [["post", "alice", q("Q")], ["post", "alice", { text: "ping?" }]], waiting: ["Q"] },
  { name: "a claim is not an answer", steps: [["post", "alice", q("Q")], ["claim", "bob", 1]], waiting: ["Q"] },
  { name: "a closed room's questions leave the inbox", steps: [["post", "alice", q("Q")], ["close", "lab"]], waiting: [] },
  { name: "reopening brings them back", steps: [["post", "alice", q("Q")], ["close", "lab"], ["reopen", "lab"]], waiting: ["Q"] },
  { name: "the operator's own questions are skipped", steps: [["say", { room: "lab", ...q("op Q") }], ["say", { room: "lab", ...q("op to bob", "bob") }]], waiting: [] },
  { name: "the operator under another sender name shows up", steps: [["say", { room: "lab", sender: "helper", ...q("helper Q") }]], waiting: ["helper Q"] },
  { name: "a question to the operator is answered by the operator", steps: [["post", "alice", { text: "help", to: "operator" }], ["say", { room: "lab", text: "sure" }]], waiting: [] },
  { name: "a question to the operator waits for it", steps: [["post", "alice", { text: "help", to: "operator" }], ["post", "bob", { text: "not me" }]], waiting: ["help"] },
  { name: "a DM between agents is a question until its recipient speaks", steps: [["post", "alice", { text: "dm", to: "bob" }], ["post", "carol", { text: "noise" }]], waiting: ["dm"] },
  { name: "a say under the named party's name answers", steps: [["post", "alice", q("Q", "bob")], ["say", { room: "lab", sender: "bob", text: "as bob" }]], waiting: [] },
  { name: "the operator's reply answers anyone", steps: [["post", "alice", q("Q")], ["say", { room: "lab", text: "I will" }]], waiting: [] },
  { name: "the named party speaking in another room does not answer", steps: [["post", "alice", q("Q", "bob")], ["say", { room: "other", sender: "bob", text: "elsewhere" }]], waiting: ["Q"] },
  { name: "a later participant's post answers anyone", steps: [["post", "alice", q("Q")], ["invite", "dave", "lab"], ["post", "dave", { text: "new here" }]], waiting: [] },
  {
    name: "anyone narrows to the only other participant in a room of two",
    agents: [["alice", "duo"], ["bob", "duo"]],
    steps: [["post", "alice", q("Q")]],
    waiting: [["Q", "bob"]],
  },
  {
    name: "and widens back when a third name joins",
    agents: [["alice", "duo"], ["bob", "duo"]],
    steps: [["post", "alice", q("Q")], ["invite", "carol", "duo"]],
    waiting: [["Q", "anyone"]],
  },
  {
    name: "a question pruned by retention leaves the inbox",
    env: { ARGYBARGY_MAX_MESSAGES_PER_ROOM: "2" },
    steps: [["post", "alice", q("old Q", "operator")], ["post", "alice", q("new Q", "operator")], ["say", { room: "lab", sender: "zed", text: "x" }]],
    waiting: ["new Q"],
  },
  {
    name: "questions of every room are listed, oldest first",
    agents: [["alice", "one"], ["bob", "two"]],
    steps: [["post", "bob", q("two Q", "operator")], ["advance", 1000], ["post", "alice", q("one Q", "operator")]],
    waiting: ["two Q", "one Q"],
  },
];

test("the inbox rules, scenario by scenario", async () => {
  for (const s of SCENARIOS) {
    const t = newTestApp({ ARGYBARGY_RATE_MAX: "0", ...s.env });
    const agents: Record<string, Awaited<ReturnType<typeof t.invite>>> = {};
    for (const [name, room] of s.agents ?? [["alice", "lab"], ["bob", "lab"], ["carol", "lab"]]) agents[name] = await t.invite(name, room);
    for (const step of s.steps) {
      let r: { status: number; text: string } = { status: 200, text: "" };
      switch (step[0]) {
        case "post": r = await agents[step[1]]!.req("POST", "/messages", step[2]); break;
        case "say": r = await t.admin("POST", "/admin/say", step[1]); break;
        case "claim": r = await agents[step[1]]!.req("POST", `/messages/${step[2]}/claim`); break;
        case "close": case "reopen": r = await t.admin("POST", `/admin/rooms/${step[1]}/${step[0]}`); break;
        case "invite": agents[step[1]] = await t.invite(step[1], step[2]); break;
        case "revoke": r = await t.admin("POST", "/admin/revoke", { target: step[1] }); break;
        case "advance": t.clock.advance(step[1]); break;
      }
      expect({ scenario: s.name, step: JSON.stringify(step), status: r.status }).toEqual({ scenario: s.name, step: JSON.stringify(step), status: 200 });
    }
    const waiting = (await t.admin("GET", "/admin/state?room=elsewhere")).json.waiting;
    const got = waiting.map((w: any, i: number) => (Array.isArray(s.waiting[i]) ? [w.text, w.expects_reply_resolved] : w.text));
    expect({ scenario: s.name, waiting: got }).toEqual({ scenario: s.name, waiting: s.waiting });
    expect(t.errors).toEqual([]);
  }
});

test("rows are message objects with room, resolved target and waiting_seconds; sorted longest first, then room, then seq; at most 50", async () => {
  const t = newTestApp({ ARGYBARGY_RATE_MAX: "0" });
  const frozen = Date.now();
  t.clock.now = () => frozen + t.clock.offsetMs; // a still clock: equal timestamps are really equal
  const alice = await t.invite("alice", "bb");
  const bob = await t.invite("bob", "aa");
  await alice.req("POST", "/messages", { text: "bb first", expects_reply: "operator" });
  t.clock.advance(10_000);
  await alice.req("POST", "/messages", { text: "bb second", expects_reply: "operator" });
  await bob.req("POST", "/messages", { text: "aa same time", expects_reply: "operator" });
  await alice.req("POST", "/messages", { text: "bb same time", expects_reply: "operator" });
  t.clock.advance(2_340);
  const rows = (await t.admin("GET", "/admin/state")).json.waiting;
  expect(rows.map((r: any) => [r.text, r.room, r.seq, r.waiting_seconds])).toEqual([
    ["bb first", "bb", 1, 12.3],
    ["aa same time", "aa", 1, 2.3],
    ["bb second", "bb", 2, 2.3],
    ["bb same time", "bb", 3, 2.3],
  ]);
  expect(Object.keys(rows[0]).sort()).toEqual(["claim_expires_at", "claim_note", "claimed_by", "expects_reply", "expects_reply_resolved", "from", "receipts", "reply_to", "room", "seq", "text", "thread", "to", "ts", "waiting_seconds"]);
  expect(rows[0]).toMatchObject({ from: "alice", to: "all", expects_reply: "operator", expects_reply_resolved: "operator", claimed_by: null });

  for (let i = 0; i < 60; i++) {
    t.clock.advance(1000);
    await bob.req("POST", "/messages", { text: `many ${i}`, expects_reply: "operator" });
  }
  const capped = (await t.admin("GET", "/admin/state?room=aa")).json.waiting;
  expect(capped).toHaveLength(50);
  expect(capped.map((r: any) => r.text)).toEqual([
    "bb first", "aa same time", "bb second", "bb same time", ...Array.from({ length: 46 }, (_, i) => `many ${i}`),
  ]);
  for (let i = 1; i < capped.length; i++) expect(capped[i].waiting_seconds).toBeLessThanOrEqual(capped[i - 1].waiting_seconds);
});
