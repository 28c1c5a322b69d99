import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { join } from "node:path";
import type { RunningServer } from "../../src/cli/serve.ts";
import { tempDir } from "../helpers.ts";
import { cli, cliEnv } from "./run-cli.ts";
import { admin, invite, position, relayOn, say } from "./stand-ins.ts";

/**
 * The Claude Code hooks fed the hook input JSON Claude Code documents (session_id,
 * transcript_path, cwd, hook_event_name, stop_hook_active / prompt / source) against a real relay.
 */

let dir: ReturnType<typeof tempDir>;
let server: RunningServer;
let code: string;

beforeEach(async () => {
  dir = tempDir("argy-hook-");
  server = await relayOn(join(dir.path, "data"));
  code = await invite(server, "claude", "build");
  await invite(server, "bob", "build");
});

afterEach(async () => {
  await server.stop();
  dir.cleanup();
});

const stopInput = (active: boolean, session = "sess-1") => JSON.stringify({
  session_id: session, transcript_path: "/home/u/.claude/projects/p/sess-1.jsonl", cwd: "/home/u/p",
  permission_mode: "default", hook_event_name: "Stop", stop_hook_active: active,
});

function hook(kind: string, stdin: string, flags: string[] = []) {
  return cli(["hook", kind, "--url", server.url, "--state-dir", join(dir.path, "state"), ...flags], cliEnv(join(dir.path, "data"), { ARGYBARGY_CODE: code }), { stdin });
}

describe("hook claude-stop", () => {
  test("a question waiting for the agent blocks the stop with the pointer and the message, and is acknowledged", async () => {
    const seq = await say(server, "build", "bob", "please rebase #7", { to: "claude" });
    const t0 = Date.now();
    const r = await hook("claude-stop", stopInput(false));
    expect(Date.now() - t0).toBeLessThan(5_000);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe("");
    const out = JSON.parse(r.stdout);
    expect(Object.keys(out).sort()).toEqual(["decision", "reason"]);
    expect(out.decision).toBe("block");
    expect(out.reason).toStartWith(`argybargy: 1 thing needs you in #build: bob asked you (#${seq}).\n#${seq} bob → you (expects you): please rebase #7\n`);
    expect((await position(server.url, code)).read_seq).toBe(seq);
    // Acknowledged: the next stop has nothing to hand over.
    const again = await hook("claude-stop", stopInput(true), ["--wait", "0"]);
    expect(again).toEqual({ code: 0, stdout: "", stderr: "" });
  }, 30_000);

  test("nothing for the agent: no output, exit 0, within the wait; a broadcast that needs nothing does not block", async () => {
    await say(server, "build", "bob", "lunch at noon");
    const t0 = Date.now();
    const r = await hook("claude-stop", stopInput(false), ["--wait", "1"]);
    const took = Date.now() - t0;
    expect(r).toEqual({ code: 0, stdout: "", stderr: "" });
    expect(took).toBeGreaterThanOrEqual(900);
    expect(took).toBeLessThan(8_000);
  }, 30_000);

  test("a message arriving during the wait blocks the stop", async () => {
    const pending = hook("claude-stop", stopInput(false), ["--wait", "10"]);
    await Bun.sleep(500);
    const seq = await say(server, "build", "bob", "one more thing", { to: "claude" });
    const r = await pending;
    expect(JSON.parse(r.stdout)).toMatchObject({ decision: "block" });
    expect(JSON.parse(r.stdout).reason).toContain(`#${seq} bob → you`);
  }, 30_000);

  test("consecutive blocks are capped while stop_hook_active; a fresh stop resets the count", async () => {
    const block = async (active: boolean) => {
      await say(server, "build", "bob", "again", { to: "claude" });
      return hook("claude-stop", stopInput(active), ["--wait", "0", "--max-blocks", "2"]);
    };
    expect(JSON.parse((await block(false)).stdout).decision).toBe("block");
    expect(JSON.parse((await block(true)).stdout).decision).toBe("block");
    const capped = await block(true);
    expect(capped.stdout).toBe("");
    expect(capped.stderr).toContain("2 blocks in a row; letting the session stop");
    // The message it did not hand over is still unread, so nothing is lost.
    const next = await hook("claude-stop", stopInput(false), ["--wait", "0", "--max-blocks", "2"]);
    expect(JSON.parse(next.stdout).reason).toContain("again");
    // Another session has its own count.
    await say(server, "build", "bob", "for the other session", { to: "claude" });
    expect(JSON.parse((await hook("claude-stop", stopInput(true, "sess-2"), ["--wait", "0", "--max-blocks", "2"])).stdout).decision).toBe("block");
  }, 30_000);

  test("never hangs: an unreachable relay, a refused code or garbage input answer nothing with exit 0", async () => {
    const port = server.port;
    const t0 = Date.now();
    const bad = await cli(["hook", "claude-stop", "--url", server.url, "--wait", "1"], cliEnv(join(dir.path, "data"), { ARGYBARGY_CODE: "wrong-code" }), { stdin: "not json" });
    expect(bad.code).toBe(0);
    expect(bad.stdout).toBe("");
    expect(bad.stderr).toContain("HTTP 401");
    await server.stop();
    const down = await cli(["hook", "claude-stop", "--url", `http://127.0.0.1:${port}`, "--wait", "1"], cliEnv(join(dir.path, "data"), { ARGYBARGY_CODE: code }), { stdin: stopInput(false) });
    expect(down.code).toBe(0);
    expect(down.stdout).toBe("");
    expect(down.stderr).toContain("could not reach");
    expect(Date.now() - t0).toBeLessThan(15_000);
    server = await relayOn(join(dir.path, "data"));
  }, 30_000);

  test("a relay that accepts the connection but never answers is cut off by the hard timer", async () => {
    const silent = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    try {
      const t0 = Date.now();
      const r = await cli(["hook", "claude-stop", "--url", `http://127.0.0.1:${silent.port}`, "--wait", "0"], cliEnv(join(dir.path, "data"), { ARGYBARGY_CODE: code }), { stdin: stopInput(false) });
      const took = Date.now() - t0;
      expect(r.code).toBe(0);
      expect(r.stdout).toBe("");
      expect(r.stderr).toContain("hard timer");
      expect(took).toBeLessThan(12_000);
    } finally {
      silent.stop(true);
    }
  }, 30_000);
});

describe("hook claude-context", () => {
  test("UserPromptSubmit: what waits for the agent becomes additionalContext, once", async () => {
    await invite(server, "carol", "build");
    const q = await say(server, "build", "bob", "who takes the deploy?", { expects_reply: "anyone" });
    const input = JSON.stringify({ session_id: "s", transcript_path: "/t.jsonl", cwd: "/p", hook_event_name: "UserPromptSubmit", prompt: "carry on" });
    const r = await hook("claude-context", input);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.hookSpecificOutput.hookEventName).toBe("UserPromptSubmit");
    expect(out.hookSpecificOutput.additionalContext).toContain(`an open question from bob (#${q})`);
    expect(out.hookSpecificOutput.additionalContext).toContain("claim an `anyone` question");
    expect(await hook("claude-context", input)).toEqual({ code: 0, stdout: "", stderr: "" });
  }, 30_000);

  test("SessionStart names its event; nothing waiting prints nothing at once", async () => {
    const input = JSON.stringify({ session_id: "s", transcript_path: "/t.jsonl", cwd: "/p", hook_event_name: "SessionStart", source: "resume" });
    const t0 = Date.now();
    expect(await hook("claude-context", input)).toEqual({ code: 0, stdout: "", stderr: "" });
    expect(Date.now() - t0).toBeLessThan(3_000);
    await say(server, "build", "bob", "welcome back", { to: "claude" });
    expect(JSON.parse((await hook("claude-context", input)).stdout).hookSpecificOutput.hookEventName).toBe("SessionStart");
  }, 30_000);

  test("a closed room answers at once", async () => {
    await admin(server, "/admin/rooms/build/close");
    const t0 = Date.now();
    const r = await hook("claude-stop", stopInput(false), ["--wait", "10"]);
    expect(r).toEqual({ code: 0, stdout: "", stderr: "" });
    expect(Date.now() - t0).toBeLessThan(5_000);
  }, 30_000);

  test("an unknown hook is refused", async () => {
    const r = await hook("codex-stop", "{}");
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('argybargy: unknown hook "codex-stop"; use claude-stop or claude-context\n');
  });
});
