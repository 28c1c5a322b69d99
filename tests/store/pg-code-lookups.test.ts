import { expect, test } from "bun:test";
import { issueCode, revokeCodes } from "../../src/relay/access.ts";
import { hashCode } from "../../src/relay/codes.ts";
import type { Relay } from "../../src/relay/relay.ts";
import { PgStore } from "../../src/store/postgres.ts";
import { pgInstances } from "./pg-instances.ts";

// Two relay "instances" on one schema (two pools, two LISTEN connections) and a third store
// without a bus, as a CLI verb run with --database has. Code lookups of one event-loop turn
// share one query, and none is cached: a revoke anywhere holds on the very next request.

const pg = pgInstances({ ARGYBARGY_RATE_MAX: "0", ARGYBARGY_AUTH_FAIL_MAX: "0" });
const instance = () => pg.instance();

const bearer = (code: string) => `Bearer ${code}`;
/** The agent's name, or the error code authenticating with `code` ends in. */
const answer = (relay: Relay, code: string) => relay.authenticate(bearer(code), "127.0.0.1").then((agent) => agent.name, (e) => e.code as string);
const opts = { nowMs: Date.now(), hashCodes: true, maxCodes: 0 };

test("a code revoked through A is refused by B on the very next request", async () => {
  const a = await instance();
  const b = await instance();
  for (let round = 0; round < 20; round++) {
    const { code } = await issueCode(a.store, { name: `agent-${round}`, room: "cache" }, opts);
    // B has it cached from earlier requests.
    for (let i = 0; i < 3; i++) expect((await b.relay.authenticate(bearer(code), "127.0.0.1")).name).toBe(`agent-${round}`);
    expect((await revokeCodes(a.store, `agent-${round}`, "cache")).revoked).toBe(1);
    expect(await answer(b.relay, code)).toBe("unauthorized");
    expect(await answer(a.relay, code)).toBe("unauthorized");
  }
}, 30_000);

test("a code issued on A after B missed it is found on B; a CLI store's revoke reaches both instances", async () => {
  const a = await instance();
  const b = await instance();
  const ghost = "x".repeat(40);
  expect(await b.store.findCode(hashCode(ghost))).toBeNull();
  const { code } = await issueCode(a.store, { name: "late", room: "cache" }, opts);
  expect((await b.relay.authenticate(bearer(code), "127.0.0.1")).name).toBe("late");
  expect((await a.relay.authenticate(bearer(code), "127.0.0.1")).name).toBe("late");

  const cli = await PgStore.open(pg.url(), { max: 1 });
  try {
    expect((await revokeCodes(cli, code, null)).revoked).toBe(1);
  } finally {
    await cli.close();
  }
  expect(await answer(a.relay, code)).toBe("unauthorized");
  expect(await answer(b.relay, code)).toBe("unauthorized");
});

test("hashing plaintext codes and purging expired ones show on the other instance at once", async () => {
  const a = await instance();
  const b = await instance();
  const { code } = await issueCode(a.store, { name: "plain", room: "cache2" }, { ...opts, hashCodes: false });
  expect((await b.store.findCode(hashCode(code)))!.hashed).toBe(false);
  expect(await a.store.hashPlaintextCodes()).toBeGreaterThan(0);
  expect((await b.store.findCode(hashCode(code)))!.hashed).toBe(true);

  const { code: short } = await issueCode(a.store, { name: "short", room: "cache2", expires: "10m" }, opts);
  expect(await b.store.findCode(hashCode(short))).not.toBeNull();
  expect(await a.store.purgeExpiredCodes(Date.now() + 3_600_000)).toBeGreaterThan(0);
  expect(await b.store.findCode(hashCode(short))).toBeNull();
});

test("concurrent lookups share a query and each gets its own code, or null", async () => {
  const a = await instance();
  const issued = await Promise.all(Array.from({ length: 40 }, (_, i) => issueCode(a.store, { name: `many-${i}`, room: "cache3" }, opts)));
  const asked = [...issued.map((x) => x.code), ...issued.map((x) => x.code), "y".repeat(40)];
  const found = await Promise.all(asked.map((code) => a.store.findCode(hashCode(code))));
  expect(found.map((c) => c?.name ?? null)).toEqual([...issued.map((x) => x.row.name), ...issued.map((x) => x.row.name), null]);
  const agents = await Promise.all(issued.map((x) => a.relay.authenticate(bearer(x.code), "127.0.0.1")));
  expect(agents.map((g) => g.name)).toEqual(issued.map((x) => x.row.name));
});
