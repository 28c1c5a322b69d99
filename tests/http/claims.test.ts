import { expect, test } from "bun:test";
import { newTestApp } from "../helpers.ts";

// SPEC §5.7: the order of claim decisions, idempotence, audit, narrowing, and one winner per race.

type Agent = Awaited<ReturnType<ReturnType<typeof newTestApp>["invite"]>>;
const claimAudit = async (t: ReturnType<typeof newTestApp>) =>
  (await t.admin("GET", "/admin/audit?limit=1000")).json.events.filter((e: any) => e.action === "claim").map((e: any) => `${e.actor}@${e.room} ${e.detail}`);

test("decisions follow the order of §5.7", async () => {
  const t = newTestApp({ ARGYBARGY_RATE_MAX: "0" });
  const agents: Record<string, Agent> = {};
  for (const name of ["alice", "bob", "carol"]) agents[name] = await t.invite(name, "lab");
  const { alice, bob } = agents;
  await t.admin("POST", "/admin/say", { room: "lab", text: "1 anyone, from the operator", expects_reply: "anyone" });
  await alice!.req("POST", "/messages", { text: "2 anyone, from alice", expects_reply: "anyone" });
  await alice!.req("POST", "/messages", { text: "3 alice to bob", to: "bob" });
  await t.admin("POST", "/admin/say", { room: "lab", text: "4 for bob by name", expects_reply: "bob" });
  await t.admin("POST", "/admin/say", { room: "lab", text: "5 fyi" });
  await alice!.req("POST", "/messages", { text: "6 alice to carol", to: "carol" });
  await bob!.req("POST", "/messages", { text: "7 bob asks carol", expects_reply: "carol" });

  const notFound = { status: 404, body: { error: "not_found" } };
  const notClaimable = (seq: number) => ({ status: 422, body: { error: "not_claimable", seq } });
  const won = (name: string, seq: number) => ({ status: 200, body: { won: true, claimed_by: name, seq, claim_expires_at: expect.any(String) }, exact: true });
  const taken = (holder: string, seq: number) => ({ status: 409, body: { error: "already_claimed", won: false, claimed_by: holder, seq } });
  const rows: [string, string, { status: number; body: Record<string, unknown>; exact?: boolean }][] = [
    ["bob", "99", notFound], // never existed
    ["bob", "0", notFound],
    ["bob", "-5", notFound],
    ["bob", "6", notFound], // exists, but a DM between others
    ["alice", "2", notClaimable(2)], // own message
    ["bob", "5", notClaimable(5)], // expects_reply none
    ["carol", "4", notClaimable(4)], // named for someone else
    ["alice", "3", notClaimable(3)], // own DM
    ["alice", "7", notClaimable(7)], // bob's question for carol
    ["bob", "4", won("bob", 4)],
    ["bob", "4", won("bob", 4)], // idempotent retry
    ["carol", "4", taken("bob", 4)], // claimed state reads the same to everyone
    ["alice", "4", taken("bob", 4)],
    ["bob", "3", won("bob", 3)],
    ["alice", "3", taken("bob", 3)], // even the sender learns who holds it
    ["carol", "1", won("carol", 1)],
    ["bob", "1", taken("carol", 1)],
    ["carol", "7", won("carol", 7)],
    ["bob", "7", taken("carol", 7)], // the asker too
    ["carol", "2", won("carol", 2)],
    ["carol", "6", won("carol", 6)], // a DM expects its recipient by default
  ];
  for (const [who, seq, want] of rows) {
    const r = await agents[who]!.req("POST", `/messages/${seq}/claim`);
    const label = `${who} claims ${seq}`;
    expect({ label, status: r.status }).toEqual({ label, status: want.status });
    if (want.exact) expect({ label, body: r.json }).toEqual({ label, body: want.body });
    else expect({ label, body: r.json }).toMatchObject({ label, body: want.body });
    expect(typeof r.json.message === "string" || r.status === 200).toBe(true);
  }
  // One audit row per winning claim; retries and losses write none.
  expect(await claimAudit(t)).toEqual(["bob@lab seq=4", "bob@lab seq=3", "carol@lab seq=1", "carol@lab seq=7", "carol@lab seq=2", "carol@lab seq=6"]);
  // The holder shows on every read path.
  const carolHistory = (await agents.carol!.req("GET", "/history")).json.messages;
  expect(carolHistory.map((m: any) => [m.seq, m.claimed_by])).toEqual([[1, "carol"], [2, "carol"], [4, "bob"], [5, null], [6, "carol"], [7, "carol"]]);
  const bobPoll = (await bob!.req("GET", "/messages?since=0")).json.messages;
  expect(bobPoll.map((m: any) => [m.seq, m.claimed_by])).toEqual([[1, "carol"], [2, "carol"], [3, "bob"], [4, "bob"], [5, null]]);
  const state = (await t.admin("GET", "/admin/state?room=lab")).json.messages;
  expect(state.map((m: any) => m.claimed_by)).toEqual(["carol", "carol", "bob", "bob", null, "carol", "carol"]);
  expect(t.errors).toEqual([]);
});

test("claims work in a closed room and are permanent", async () => {
  const t = newTestApp();
  const alice = await t.invite("alice", "lab");
  const bob = await t.invite("bob", "lab");
  await t.invite("carol", "lab");
  await t.admin("POST", "/admin/rooms/lab/close");
  const q = await t.admin("POST", "/admin/say", { room: "lab", text: "who?", expects_reply: "anyone" });
  expect(q.status).toBe(200);
  expect((await alice.req("POST", `/messages/${q.json.message.seq}/claim`)).json).toEqual({ won: true, claimed_by: "alice", seq: 1, claim_expires_at: expect.any(String) });
  await t.admin("POST", "/admin/rooms/lab/reopen");
  expect((await bob.req("POST", "/messages/1/claim")).json).toMatchObject({ error: "already_claimed", claimed_by: "alice" });
});

test("anyone narrows to the only other participant in a room of two, and widens again", async () => {
  const t = newTestApp();
  const alice = await t.invite("alice", "duo");
  const bob = await t.invite("bob", "duo");
  const ask = async (text: string) => (await alice.req("POST", "/messages", { text, expects_reply: "anyone" })).json.message.seq as number;
  const resolvedFor = async (who: Agent, seq: number) => (await who.req("GET", `/messages?since=${seq - 1}`)).json.messages.find((m: any) => m.seq === seq);

  const q1 = await ask("room of two");
  expect(await resolvedFor(bob, q1)).toMatchObject({ expects_reply: "anyone", expects_reply_resolved: "bob" });
  const q2 = await ask("second");
  // A third code widens it back to anyone, for every message (computed at read time).
  const carol = await t.invite("carol", "duo");
  expect(await resolvedFor(bob, q1)).toMatchObject({ expects_reply: "anyone", expects_reply_resolved: "anyone" });
  expect((await carol.req("POST", `/messages/${q1}/claim`)).json).toEqual({ won: true, claimed_by: "carol", seq: q1, claim_expires_at: expect.any(String) });
  // Revoking the never-posting third code narrows it again: carol can no longer claim anyway,
  // and for bob the resolved target is his name.
  await t.admin("POST", "/admin/revoke", { target: "carol", room: "duo" });
  expect(await resolvedFor(bob, q2)).toMatchObject({ expects_reply_resolved: "bob" });
  expect((await bob.req("POST", `/messages/${q2}/claim`)).json).toEqual({ won: true, claimed_by: "bob", seq: q2, claim_expires_at: expect.any(String) });
  // A poster is a durable participant: once dave posts, revoking dave's code does not narrow.
  const dave = await t.invite("dave", "duo");
  await dave.req("POST", "/messages", { text: "hi" });
  await t.admin("POST", "/admin/revoke", { target: "dave" });
  const q3 = await ask("third");
  expect(await resolvedFor(bob, q3)).toMatchObject({ expects_reply_resolved: "anyone" });
  expect((await alice.req("POST", `/messages/${q3}/claim`)).json).toMatchObject({ error: "not_claimable", seq: q3 });
});

test("in a room of two the asker's anyone question narrows to the other agent, who may claim it", async () => {
  const t = newTestApp();
  const alice = await t.invite("alice", "pair");
  const bob = await t.invite("bob", "pair");
  // The operator has not posted in pair, so it is not a participant: bob's question narrows to alice.
  const q = (await bob.req("POST", "/messages", { text: "?", expects_reply: "anyone" })).json.message.seq;
  expect((await bob.req("POST", `/messages/${q}/claim`)).status).toBe(422);
  expect((await alice.req("POST", `/messages/${q}/claim`)).json).toEqual({ won: true, claimed_by: "alice", seq: q, claim_expires_at: expect.any(String) });
});

test("exactly one winner among 300 concurrent claimers, five times", async () => {
  const t = newTestApp({ ARGYBARGY_MAX_CODES: "0" });
  const agents: Agent[] = [];
  for (let i = 0; i < 300; i++) agents.push(await t.invite(`agent-${String(i).padStart(3, "0")}`, "race"));
  const winners: string[] = [];
  for (let round = 1; round <= 5; round++) {
    const q = await t.admin("POST", "/admin/say", { room: "race", text: `round ${round}`, expects_reply: "anyone" });
    const seq = q.json.message.seq as number;
    const results = await Promise.all(agents.map((a) => a.req("POST", `/messages/${seq}/claim`)));
    const won = results.filter((r) => r.status === 200);
    expect(won).toHaveLength(1);
    const winner = won[0]!.json.claimed_by as string;
    expect(won[0]!.json).toEqual({ won: true, claimed_by: winner, seq, claim_expires_at: expect.any(String) });
    const lost = results.filter((r) => r.status === 409);
    expect(lost).toHaveLength(299);
    for (const r of lost) expect(r.json).toMatchObject({ error: "already_claimed", won: false, claimed_by: winner, seq });
    winners.push(`${winner}@race seq=${seq}`);
  }
  expect(await claimAudit(t)).toEqual(winners);
  const state = (await t.admin("GET", "/admin/state?room=race")).json.messages;
  expect(state.map((m: any) => `${m.claimed_by}@race seq=${m.seq}`)).toEqual(winners);
  expect(t.errors).toEqual([]);
}, 30_000);
