import { expect, test } from "bun:test";
import { burstBlock, burstEnv, burstPayload } from "../../src/cli/burst-exec.ts";
import type { AgentMessage, Burst } from "../../src/relay/wake.ts";

const m = (seq: number, over: Partial<AgentMessage> = {}): AgentMessage => ({
  seq, ts: "2026-12-01T09:00:00.000Z", from: "bob", to: "codex", text: `line one\nline two`, expects_reply: "codex", claimed_by: null, expects_reply_resolved: "codex", ...over,
});
const burst: Burst = { messages: [m(4), m(6, { to: "all", expects_reply_resolved: "anyone", text: "\x1b[31mred\x1b[0m\x1b]0;pwned\x07" })], upTo: 7 };
const ctx = { url: "http://127.0.0.1:8765", room: "build", name: "codex", summary: "2 things need you in #build: bob asked you (#4), an open question from bob (#6)" };

test("the payload carries the room, the pointer, the newest seq, the ack position and the messages", () => {
  expect(burstPayload(burst, ctx)).toEqual({ room: "build", name: "codex", url: ctx.url, summary: ctx.summary, seq: 6, up_to: 7, messages: burst.messages });
});

test("CMD's environment: inherited, the code removed unless passed, the ARGYBARGY_* pointer variables added", () => {
  const inherited = { PATH: "/bin", ARGYBARGY_CODE: "secret", ARGYBARGY_CODE_FILE: "/k", HOME: "/h" };
  const env = burstEnv(inherited, burst, ctx, "secret", false);
  expect(env).toEqual({ PATH: "/bin", HOME: "/h", ARGYBARGY_SUMMARY: ctx.summary, ARGYBARGY_URL: ctx.url, ARGYBARGY_ROOM: "build", ARGYBARGY_NAME: "codex", ARGYBARGY_SEQ: "6" });
  expect(burstEnv({ PATH: "/bin" }, burst, ctx, "from-a-file", true).ARGYBARGY_CODE).toBe("from-a-file");
});

test("on a terminal a burst is a readable block, with no escape sequence of a message's text left", () => {
  expect(burstBlock(burst, ctx)).toBe([
    `── ${ctx.summary}`,
    "  #4 bob → you · expects codex",
    "    line one",
    "    line two",
    "  #6 bob → all · expects anyone",
    "    red]0;pwned",
    "",
  ].join("\n"));
});
