import { afterAll, beforeAll, expect, test } from "bun:test";
import { listen, streamServer, until } from "./sse.ts";

// SPEC §7.2's black-box test of Invariant N, repeated with consumers on the stream (issue 8):
// 3 concurrent posters send 60 messages each through /admin/say while `eventsource` clients
// follow the room; each receives exactly the seqs it may see, once, in order.

let s: Awaited<ReturnType<typeof streamServer>>;
beforeAll(async () => {
  s = await streamServer();
});
afterAll(async () => {
  await s.close();
});

for (const round of [1, 2, 3]) {
  test(`concurrent posters, stream consumers (round ${round}): every visible seq exactly once, in order`, async () => {
    const room = `inv${round}`;
    const names = ["ana", "bo", "cy"];
    const codes = await Promise.all(names.map((n) => s.invite(n, room)));
    const consumers = codes.map((c) => listen(s.url, c));
    try {
      await until(() => consumers.every((c) => c.opened() === 1), "streams to open");
      // Poster 0 sends every 5th message as a DM to ana only.
      const poster = async (p: number) => {
        for (let i = 0; i < 60; i++) {
          const dm = p === 0 && i % 5 === 0;
          await s.admin("POST", "/admin/say", { room, sender: `poster${p}`, text: `p${p}-${i}`, ...(dm ? { to: "ana" } : {}) });
        }
      };
      await Promise.all([0, 1, 2].map(poster));
      const all = (await s.admin("GET", `/admin/state?room=${room}`)).rooms.find((r: any) => r.room === room);
      expect(all.last_seq).toBe(180);
      const dms = 12;
      await until(() => consumers[0]!.messages().length === 180 && consumers[1]!.messages().length === 180 - dms && consumers[2]!.messages().length === 180 - dms, "every message", 20_000);
      await Bun.sleep(150); // a duplicate would show up here
      const anaSeqs = consumers[0]!.messages().map((m) => m.seq);
      expect(anaSeqs).toEqual(Array.from({ length: 180 }, (_, i) => i + 1));
      const dmSeqs = new Set(consumers[0]!.messages().filter((m) => m.to === "ana").map((m) => m.seq));
      expect(dmSeqs.size).toBe(dms);
      for (const c of consumers.slice(1)) {
        expect(c.messages().map((m) => m.seq)).toEqual(anaSeqs.filter((seq) => !dmSeqs.has(seq)));
      }
    } finally {
      for (const c of consumers) c.close();
    }
  }, 30_000);
}
