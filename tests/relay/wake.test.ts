import { describe, expect, test } from "bun:test";
import { needsAgent, wakeBrief, wakeSummary, WakeQueue, type AgentMessage, type WakeFilter } from "../../src/relay/wake.ts";

const msg = (seq: number, over: Partial<AgentMessage> = {}): AgentMessage => ({
  seq, ts: "2026-12-01T09:00:00.000Z", from: "bob", to: "all", text: `m${seq}`, expects_reply: "none", claimed_by: null, expects_reply_resolved: "none", ...over,
});

describe("needsAgent", () => {
  const cases: [string, Partial<AgentMessage>, Record<WakeFilter, boolean>][] = [
    ["a DM expecting me", { to: "me", expects_reply: "me", expects_reply_resolved: "me" }, { me: true, questions: true, all: true }],
    ["a DM expecting nobody", { to: "me", expects_reply_resolved: "none" }, { me: true, questions: false, all: true }],
    ["a broadcast asking me", { expects_reply: "me", expects_reply_resolved: "me" }, { me: true, questions: true, all: true }],
    ["an open question", { expects_reply: "anyone", expects_reply_resolved: "anyone" }, { me: true, questions: true, all: true }],
    ["an open question someone claimed", { expects_reply_resolved: "anyone", claimed_by: "carol" }, { me: false, questions: false, all: true }],
    ["an open question I claimed", { expects_reply_resolved: "anyone", claimed_by: "me" }, { me: true, questions: true, all: true }],
    ["a question for carol", { expects_reply_resolved: "carol" }, { me: false, questions: false, all: true }],
    ["a plain broadcast", {}, { me: false, questions: false, all: true }],
    ["my own message", { from: "me", to: "me", expects_reply_resolved: "me" }, { me: false, questions: false, all: false }],
  ];
  for (const [name, over, want] of cases) {
    test(name, () => {
      for (const filter of ["me", "questions", "all"] as const) expect([filter, needsAgent(msg(1, over), "me", filter)]).toEqual([filter, want[filter]]);
    });
  }
});

describe("the pointer", () => {
  test("names each thing, and cuts off after five", () => {
    expect(wakeSummary("build", "me", [])).toBe("");
    expect(wakeSummary("build", "me", [msg(41, { expects_reply_resolved: "me" }), msg(43, { from: "carol", expects_reply_resolved: "anyone" })]))
      .toBe("2 things need you in #build: bob asked you (#41), an open question from carol (#43)");
    const seven = Array.from({ length: 7 }, (_, i) => msg(i + 1, { to: "me" }));
    expect(wakeSummary("build", "me", seven)).toBe("7 things need you in #build: bob wrote to you (#1), bob wrote to you (#2), bob wrote to you (#3), bob wrote to you (#4), bob wrote to you (#5), and 2 more");
  });

  test("says how many are for the agent when some ask nothing of it (--for all)", () => {
    expect(wakeSummary("build", "me", [msg(1), msg(2, { to: "me" }), msg(3, { from: "carol" })])).toBe("3 new messages in #build (1 for you): bob wrote (#1), bob wrote to you (#2), carol wrote (#3)");
    expect(wakeSummary("build", "me", [msg(1)])).toBe("1 new message in #build: bob wrote (#1)");
  });

  test("the hook brief quotes each message, cutting very long ones", () => {
    const brief = wakeBrief("build", "me", [msg(5, { to: "me", expects_reply_resolved: "me", text: "x".repeat(3000) })]);
    const lines = brief.split("\n");
    expect(lines[0]).toBe("argybargy: 1 thing needs you in #build: bob asked you (#5).");
    expect(lines[1]).toStartWith("#5 bob → you (expects you): xxx");
    expect(lines[1]!.length).toBeLessThan(2100);
    expect(lines[1]).toEndWith("… (cut; see /history)");
  });
});

describe("WakeQueue", () => {
  const d = { debounceMs: 100, maxHoldMs: 1000 };

  test("coalesces arrivals until a quiet gap, but never holds a burst past maxHold", () => {
    const q = new WakeQueue("me", "me", 0);
    expect(q.dueInMs(0, d)).toBeNull();
    q.add([msg(1, { to: "me" })], 1, 0);
    expect(q.dueInMs(50, d)).toBe(50);
    for (let t = 90; t < 1100; t += 90) q.add([msg(t, { to: "me" })], t, t);
    expect(q.dueInMs(990, d)).toBe(10);
    expect(q.dueInMs(1000, d)).toBe(0);
  });

  test("ignores replays, keeps arrivals during a run for the next burst, and acknowledges only what was handled", () => {
    const q = new WakeQueue("me", "me", 10);
    expect(q.add([msg(9, { to: "me" }), msg(11, { to: "me" }), msg(12)], 12, 0)).toBe(1);
    const burst = q.take()!;
    expect(burst).toEqual({ messages: [msg(11, { to: "me" })], upTo: 12 });
    q.add([msg(13, { to: "me" })], 13, 10);
    q.add([msg(11, { to: "me" })], 13, 10);
    expect(q.handled(burst, 20)).toBe(12);
    expect(q.take()!.messages.map((m) => m.seq)).toEqual([13]);
    expect(q.idleAck()).toBeNull();
  });

  test("a failed run keeps its messages; the retry carries them and what came since", () => {
    const q = new WakeQueue("me", "me", 0);
    q.add([msg(1, { to: "me" })], 1, 0);
    expect(q.take()!.upTo).toBe(1);
    q.add([msg(2, { to: "me" })], 2, 5);
    const retry = q.take()!;
    expect(retry.messages.map((m) => m.seq)).toEqual([1, 2]);
    expect(q.handled(retry, 9)).toBe(2);
    expect(q.readPosition).toBe(2);
  });

  test("with nothing waiting, the read position moves past filtered-out messages", () => {
    const q = new WakeQueue("me", "me", 3);
    q.add([msg(4), msg(5)], 7, 0);
    expect(q.waiting).toBe(0);
    expect(q.idleAck()).toBe(7);
    expect(q.idleAck()).toBeNull();
  });
});
