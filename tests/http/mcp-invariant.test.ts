import { expect, test } from "bun:test";
import { mcpRelay, toolJson } from "./mcp-helpers.ts";

// Invariant N on the MCP path: posters race consumers that only ever call `wait` (the server
// keeps their position); each consumer receives exactly the messages it may see, once, in
// order, also when it drops its client and reconnects halfway.

const POSTERS = 3;
const PER_POSTER = 40;

test("concurrent posters, consumers on wait: every visible seq exactly once, in order, across a reconnect", async () => {
  const r = await mcpRelay({ ARGYBARGY_RATE_MAX: "0" });
  try {
    const readerNames = ["reader0", "reader1", "reader2"];
    const readerCodes = await Promise.all(readerNames.map((n) => r.invite(n, "inv")));
    const posters = await Promise.all(Array.from({ length: POSTERS }, async (_, i) => r.http(await r.invite(`w${i}`, "inv"))));
    const total = POSTERS * PER_POSTER;
    /** seq → recipient ("all" or a reader's name), filled in as posts are acknowledged. */
    const sentTo = new Map<number, string>();

    const post = async (poster: (typeof posters)[number], p: number) => {
      for (let k = 0; k < PER_POSTER; k++) {
        const to = (p + k) % 5 === 0 ? "reader0" : "all";
        const res = await poster("POST", "/messages", { text: `w${p}-${k}`, to });
        expect(res.status).toBe(200);
        sentTo.set(res.json.message.seq, to);
        if (k % 7 === 0) await Bun.sleep(1);
      }
    };
    let posting = true;
    const consume = async (index: number) => {
      let client = await r.connect(readerCodes[index]!);
      const got: number[] = [];
      for (let round = 0; round < 2000; round++) {
        // Reader 1 drops its client halfway and carries on with a new one: the position is the server's.
        if (index === 1 && round === 5) {
          await client.close();
          client = await r.connect(readerCodes[index]!);
        }
        const res = toolJson(await client.callTool({ name: "wait", arguments: { timeout_s: posting ? 1 : 0 } }));
        expect(res.isError).toBe(false);
        got.push(...res.body.messages.map((m: any) => m.seq as number));
        if (!posting && res.body.messages.length === 0) break;
      }
      return got;
    };
    const consumers = readerNames.map((_, i) => consume(i));
    await Promise.all(posters.map((p, i) => post(p, i)));
    posting = false;
    const results = await Promise.all(consumers);
    expect(sentTo.size).toBe(total);
    for (const [i, got] of results.entries()) {
      const expected = [...sentTo.entries()].filter(([, to]) => to === "all" || to === readerNames[i]).map(([seq]) => seq).sort((a, b) => a - b);
      expect(got).toEqual(expected);
    }
  } finally {
    await r.stop();
  }
}, 60_000);
