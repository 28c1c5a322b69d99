import { afterAll, beforeAll, expect, test } from "bun:test";
import { createApp } from "../../src/http/app.ts";
import { hashCode } from "../../src/relay/codes.ts";
import { LocalBus } from "../../src/relay/bus.ts";
import { Operator } from "../../src/relay/operator.ts";
import { Relay } from "../../src/relay/relay.ts";
import { PgSharedState } from "../../src/store/pg-shared.ts";
import { PgStore } from "../../src/store/postgres.ts";
import { ADMIN_TOKEN, testConfig, TestClock } from "../helpers.ts";
import { freshSchemaUrl } from "../pg-cluster.ts";

// Two relays ("instances") on one schema, each with its own pool and in-memory state: what
// users rely on must agree between them because it lives in the database.

let url: string;
const stores: PgStore[] = [];
beforeAll(async () => {
  url = await freshSchemaUrl();
});
afterAll(async () => {
  for (const s of stores) await s.close();
});

/** The real shared state, counting the separate rate-limit round trips it is asked for. */
class CountingShared extends PgSharedState {
  takes = 0;
  override takeRate(key: string, nowMs: number, max: number, windowMs: number) {
    this.takes++;
    return super.takeRate(key, nowMs, max, windowMs);
  }
}

async function instance(env: Record<string, string>) {
  const store = await PgStore.open(url, { max: 3 });
  stores.push(store);
  const shared = new CountingShared(store);
  await shared.saveAdminToken(ADMIN_TOKEN, true);
  const config = testConfig(env);
  const relay = new Relay({ store, bus: new LocalBus(), shared, clock: new TestClock(), limits: config, adminToken: ADMIN_TOKEN });
  const operator = new Operator(relay, { save: (t) => shared.saveAdminToken(t, false).then(() => {}) });
  const app = createApp({ relay, operator, config, startedMs: Date.now(), publicUrl: () => null, logError: (_id, err) => console.error(err) });
  const req = async (method: string, path: string, headers: Record<string, string>, body?: unknown) => {
    const res = await app.handle(new Request(`http://localhost${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) }));
    return { status: res.status, json: (await res.json().catch(() => null)) as any };
  };
  return { relay, shared, req };
}

test("rate limit, presence, throttle and admin token agree between two instances", async () => {
  const env = { ARGYBARGY_RATE_MAX: "4", ARGYBARGY_RATE_WINDOW: "60", ARGYBARGY_AUTH_FAIL_MAX: "3" };
  const a = await instance(env);
  const b = await instance(env);
  const admin = { "x-admin-token": ADMIN_TOKEN };
  const alice = (await a.req("POST", "/admin/invite", admin, { name: "alice", room: "lab" })).json.code as string;
  const bob = (await b.req("POST", "/admin/invite", admin, { name: "bob", room: "lab" })).json.code as string;
  expect(await a.relay.store.findCode(hashCode(bob))).not.toBeNull();
  const asAlice = { authorization: `Bearer ${alice}` };

  // Four posts alternating over A and B use the whole budget; a fifth is refused on either.
  const statuses: number[] = [];
  for (let i = 0; i < 6; i++) statuses.push((await (i % 2 ? b : a).req("POST", "/messages", asAlice, { text: `m${i}` })).status);
  expect(statuses).toEqual([200, 200, 200, 200, 429, 429]);

  // Alice was only ever seen by A; B's /peers and roster show her too.
  await b.req("GET", "/whoami", { authorization: `Bearer ${bob}` });
  await a.relay.syncPresence(); // flushes A's queued sightings
  const peers = (await b.req("GET", "/peers", { authorization: `Bearer ${bob}` })).json.peers.map((p: any) => [p.name, p.online]);
  expect(peers).toEqual([["alice", true], ["bob", true]]);
  const roster = (await b.req("GET", "/admin/state", admin)).json.peers.lab.map((p: any) => p.name);
  expect(roster).toEqual(["alice", "bob"]);
  // Connect is audited once, by whichever instance saw the agent first.
  const connects = (await a.req("GET", "/admin/audit?limit=100", admin)).json.events.filter((e: any) => e.action === "connect");
  expect(connects.map((e: any) => e.actor).sort()).toEqual(["alice", "bob"]);

  // Failed authentications from one address count on both instances.
  const bad = { authorization: "Bearer wrong-code-0000", "cf-connecting-ip": "198.51.100.7" };
  const fails: number[] = [];
  for (let i = 0; i < 5; i++) fails.push((await (i % 2 ? b : a).req("GET", "/whoami", bad)).status);
  expect(fails).toEqual([401, 401, 401, 429, 429]);

  // A token regenerated through A stops working on B at once.
  const fresh = (await a.req("POST", "/admin/regenerate-token", admin)).json.admin_token as string;
  expect((await b.req("GET", "/admin/stats", admin)).status).toBe(401);
  expect((await b.req("GET", "/admin/stats", { "x-admin-token": fresh })).status).toBe(200);
});

test("a rate-limited post takes its slot inside the insert: one round trip, the same 429, and a refused post spends no slot", async () => {
  const env = { ARGYBARGY_RATE_MAX: "3", ARGYBARGY_RATE_WINDOW: "60" };
  const a = await instance(env);
  const b = await instance(env);
  await a.shared.saveAdminToken(ADMIN_TOKEN, false); // the test above regenerated it
  const admin = { "x-admin-token": ADMIN_TOKEN };
  const dora = (await a.req("POST", "/admin/invite", admin, { name: "dora", room: "rl" })).json.code as string;
  const erin = (await a.req("POST", "/admin/invite", admin, { name: "erin", room: "rl" })).json.code as string;
  const asDora = { authorization: `Bearer ${dora}` };
  const asErin = { authorization: `Bearer ${erin}` };

  // Six posts at once over both instances (several per group commit): exactly the budget passes.
  const burst = await Promise.all(Array.from({ length: 6 }, (_, i) => (i % 2 ? b : a).req("POST", "/messages", asDora, { text: `d${i}` })));
  expect(burst.map((r) => r.status).sort()).toEqual([200, 200, 200, 429, 429, 429]);
  for (const r of burst.filter((x) => x.status === 429)) {
    expect(r.json.error).toBe("rate_limited");
    expect(r.json.retry_after).toBeGreaterThanOrEqual(1);
    expect(r.json.retry_after).toBeLessThanOrEqual(60);
    expect(r.json.message).toBe(`Slow down: at most 3 messages per 60 s; retry in ${r.json.retry_after} s.`);
  }
  const seqs = burst.filter((r) => r.status === 200).map((r) => r.json.message.seq).sort();
  expect(seqs).toEqual([1, 2, 3]);

  // Closed through A: erin's posts through B are refused with 409 and spend nothing.
  await b.req("GET", "/messages?since=0", asErin); // B has the room's tail cached as open
  await a.req("POST", "/admin/rooms/rl/close", admin, {});
  for (let i = 0; i < 4; i++) expect((await b.req("POST", "/messages", asErin, { text: `closed ${i}` })).json.error).toBe("room_closed");
  await a.req("POST", "/admin/rooms/rl/reopen", admin, {});
  const after = [];
  for (let i = 0; i < 4; i++) after.push((await b.req("POST", "/messages", asErin, { text: `e${i}` })).status);
  expect(after).toEqual([200, 200, 200, 429]);
  expect(a.shared.takes + b.shared.takes).toBe(0); // no separate rate-limit round trip
});
