import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { RunningServer } from "../../src/cli/serve.ts";
import { age } from "../../src/cli/rooms.ts";
import { tempDir } from "../helpers.ts";
import { cli, cliEnv, closedPort, lines, serverOn } from "./run-cli.ts";

let dir: ReturnType<typeof tempDir>;
let env: Record<string, string>;
let server: RunningServer;
let url: string;
beforeEach(async () => {
  dir = tempDir("argy-cli-control-");
  env = cliEnv(dir.path);
  server = await serverOn(dir.path);
  url = `http://127.0.0.1:${server.port}`;
});
afterEach(async () => {
  await server.stop();
  dir.cleanup();
});

/** The CLI against the test server. */
const ctl = (argv: string[]) => cli([...argv, "--url", url], env);

/** An agent's code minted by the CLI straight into the server's database. */
async function agentCode(name: string, room: string): Promise<string> {
  const r = await cli(["invite", "--name", name, "--room", room, "--json"], env);
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout).code;
}

const asAgent = (code: string) => ({ authorization: `Bearer ${code}` });

describe("post", () => {
  test("speaks in the room as the operator and prints the one-line receipt", async () => {
    const r = await ctl(["post", "lab", "hello, agents"]);
    expect(r).toEqual({ code: 0, stdout: "#lab seq 1 sent as operator -> all\n", stderr: "" });
    const state = await (await fetch(`${url}/admin/state?room=lab`, { headers: { "x-admin-token": server.adminToken } })).json();
    expect(state.messages.map((m: any) => [m.seq, m.from, m.to, m.text, m.expects_reply])).toEqual([[1, "operator", "all", "hello, agents", "none"]]);
  });

  test("--to, --sender, --expects and --json", async () => {
    await agentCode("alice", "lab");
    const r = await ctl(["post", "lab", "alice, review this?", "--to", "alice", "--sender", "reviewer", "--expects", "alice", "--json"]);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc.ok).toBe(true);
    expect(doc.message).toMatchObject({ seq: 1, from: "reviewer", to: "alice", text: "alice, review this?", expects_reply: "alice", claimed_by: null });
    expect(Object.keys(doc.message).sort()).toEqual(["claim_expires_at", "claimed_by", "expects_reply", "from", "reply_to", "seq", "text", "thread", "to", "ts"]);
    expect((await ctl(["post", "lab", "dm", "--to", "alice"])).stdout).toBe("#lab seq 2 sent as operator -> alice\n");
  });

  test("wakes a parked poll", async () => {
    const code = await agentCode("alice", "lab");
    const poll = fetch(`${url}/messages?wait=10&since=0`, { headers: asAgent(code) }).then((res) => res.json());
    await Bun.sleep(100);
    const t0 = performance.now();
    expect((await ctl(["post", "lab", "wake up"])).code).toBe(0);
    const body = await poll;
    expect(performance.now() - t0).toBeLessThan(2000);
    expect(body.messages.map((m: any) => m.text)).toEqual(["wake up"]);
  });

  test("an HTTP error prints method, URL, status, error and message on one line", async () => {
    const r = await ctl(["post", "lab", "hi", "--to", "nobody"]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    expect(lines(r.stderr)).toHaveLength(1);
    expect(r.stderr).toStartWith(`argybargy: POST ${url}/admin/say failed: HTTP 422 unknown_recipient: `);
  });

  test("an empty text is the server's 422, not a usage error", async () => {
    const r = await ctl(["post", "lab", ""]);
    expect(r.code).toBe(1);
    expect(r.stderr).toStartWith(`argybargy: POST ${url}/admin/say failed: HTTP 422 invalid: text must not be empty.`);
  });
});

describe("rooms", () => {
  test("none: says so and shows `argybargy room <name>`", async () => {
    const r = await ctl(["rooms"]);
    expect(r).toEqual({ code: 0, stdout: "No rooms yet. Open one with: argybargy room <name>\n", stderr: "" });
  });

  test("a table of summaries and status-only rooms, sorted, with waiting counts", async () => {
    expect((await cli(["room", "alpha"], env)).code).toBe(0);
    const code = await agentCode("bob", "lab");
    await ctl(["post", "lab", "status please"]);
    const asked = await fetch(`${url}/messages`, { method: "POST", headers: asAgent(code), body: JSON.stringify({ text: "can I merge?", to: "operator", expects_reply: "operator" }) });
    expect(asked.status).toBe(200);
    await ctl(["close", "zeta"]);
    const r = await ctl(["rooms"]);
    expect(r.code).toBe(0);
    const out = lines(r.stdout);
    expect(out[0]).toMatch(/^ROOM\s+STATUS\s+MSGS\s+LAST\s+WAITING$/);
    expect(out.slice(1).map((l) => l.split(/\s+/))).toEqual([
      ["alpha", "open", "0", "never", "-"],
      ["lab", "open", "2", "0s", "1"],
      ["zeta", "closed", "0", "never", "-"],
    ]);
  });

  test("--json", async () => {
    await ctl(["post", "lab", "x"]);
    const doc = JSON.parse((await ctl(["rooms", "--json"])).stdout);
    expect(doc.rooms).toHaveLength(1);
    expect(doc.rooms[0]).toMatchObject({ room: "lab", status: "open", messages: 1, last_seq: 1, closed_at: null, closed_by: null, waiting: 0 });
  });

  test("ages are floored: s, m, h, d", () => {
    expect([0, 59.9, 60, 3599, 3600, 86399, 86400, 200000].map(age)).toEqual(["0s", "59s", "1m", "59m", "1h", "23h", "1d", "2d"]);
  });
});

describe("close and reopen", () => {
  test("close tells a parked poll to leave, and says who closed it and when", async () => {
    const code = await agentCode("alice", "lab");
    const poll = fetch(`${url}/messages?wait=10&since=0`, { headers: asAgent(code) }).then((res) => res.json());
    await Bun.sleep(100);
    const r = await ctl(["close", "lab", "--by", "carol"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Room "lab" was closed by carol at \d{4}-\d\d-\d\dT[\d:.]+Z; its pollers have been told to leave/);
    const body = await poll;
    expect(body.should_exit).toBe(true);
    expect(body.exit_reason).toBe("room_closed");
    expect(body.room).toMatchObject({ name: "lab", status: "closed", closed_by: "carol" });
  });

  test("close defaults --by to operator; `room` on it then exits 1; reopen opens it again", async () => {
    expect((await ctl(["close", "lab"])).stdout).toContain("closed by operator at");
    const blocked = await cli(["room", "lab"], env);
    expect(blocked.code).toBe(1);
    expect(blocked.stderr).toContain("closed by operator");
    expect(blocked.stderr).toContain("argybargy reopen lab");
    const r = await ctl(["reopen", "lab"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Room "lab" is open again.');
    expect(r.stdout).toContain("will not come back");
    expect(r.stdout).toContain("argybargy room lab");
    expect(r.stdout).toContain("argybargy invite --name <peer> --room lab");
    expect((await cli(["room", "lab"], env)).code).toBe(0);
  });

  test("room names are URL-encoded in the path: an invalid name is the server's 422, not a 404", async () => {
    const r = await ctl(["close", "a/b"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toStartWith(`argybargy: POST ${url}/admin/rooms/a%2Fb/close failed: HTTP 422 invalid: room must be`);
    expect((await ctl(["reopen", "x y"])).stderr).toContain("/admin/rooms/x%20y/reopen failed: HTTP 422 invalid");
  });
});

describe("health", () => {
  test("ok <version>, exit 0, with no token needed", async () => {
    const other = tempDir("argy-cli-notoken-");
    try {
      const r = await cli(["health", "--url", url], cliEnv(other.path));
      expect(r).toEqual({ code: 0, stdout: "ok 1.1.0\n", stderr: "" });
    } finally {
      other.cleanup();
    }
  });

  test("the control URL defaults to 127.0.0.1:<ARGYBARGY_PORT> and never uses url.txt", async () => {
    writeFileSync(join(dir.path, "url.txt"), `http://127.0.0.1:${closedPort()}\n`);
    const r = await cli(["health"], { ...env, ARGYBARGY_PORT: String(server.port) });
    expect(r.stdout).toBe("ok 1.1.0\n");
    const rooms = await cli(["rooms"], { ...env, ARGYBARGY_PORT: String(server.port) });
    expect(rooms.code).toBe(0);
  });
});

describe("failures are one line and exit 1", () => {
  test("unreachable bridge", async () => {
    const port = closedPort();
    for (const verb of [["health"], ["rooms"], ["post", "lab", "x"], ["close", "lab"], ["reopen", "lab"]]) {
      const r = await cli([...verb, "--url", `http://127.0.0.1:${port}`], env);
      expect(r.code).toBe(1);
      expect(r.stdout).toBe("");
      expect(lines(r.stderr)).toHaveLength(1);
      expect(r.stderr).toStartWith(`argybargy: could not reach http://127.0.0.1:${port} (`);
      expect(r.stderr).toContain("argybargy up");
      expect(r.stderr).toContain("--url");
    }
  });

  test("no token file: start the bridge once", async () => {
    const other = tempDir("argy-cli-notoken-");
    try {
      const r = await cli(["rooms", "--url", url], cliEnv(other.path));
      expect(r.code).toBe(1);
      expect(lines(r.stderr)).toEqual([`argybargy: no admin token at ${join(other.path, "admin.token")}; start the bridge once with \`argybargy serve\` or \`argybargy up\``]);
    } finally {
      other.cleanup();
    }
  });

  test("empty token file: says so and suggests a restart", async () => {
    writeFileSync(join(dir.path, "admin.token"), "  \n");
    const r = await ctl(["post", "lab", "x"]);
    expect(r.code).toBe(1);
    expect(lines(r.stderr)).toHaveLength(1);
    expect(r.stderr).toContain("is empty");
    expect(r.stderr).toContain("restart");
  });

  test("a token the bridge rejects: it may have been regenerated, run `argybargy token`", async () => {
    writeFileSync(join(dir.path, "admin.token"), "not-the-token-the-server-holds");
    const r = await ctl(["close", "lab"]);
    expect(r.code).toBe(1);
    expect(lines(r.stderr)).toHaveLength(1);
    expect(r.stderr).toContain("rejected the admin token (HTTP 401)");
    expect(r.stderr).toContain("regenerated");
    expect(r.stderr).toContain("argybargy token");
  });

  test("the token is read on every call: a regenerated token works at once", async () => {
    const res = await fetch(`${url}/admin/regenerate-token`, { method: "POST", headers: { "x-admin-token": server.adminToken } });
    expect(res.status).toBe(200);
    expect((await ctl(["rooms"])).code).toBe(0);
  });

  test("a bad --url", async () => {
    const r = await cli(["rooms", "--url", "localhost:8765"], env);
    expect(r.code).toBe(1);
    expect(r.stderr).toStartWith("argybargy: --url must be an http:// or https:// URL");
  });
});
