import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { hashCode } from "../../src/relay/codes.ts";
import { SqliteStore } from "../../src/store/sqlite.ts";
import { tempDir } from "../helpers.ts";
import { cli, cliEnv, lines } from "./run-cli.ts";

let dir: ReturnType<typeof tempDir>;
let env: Record<string, string>;
beforeEach(() => {
  dir = tempDir("argy-cli-store-");
  env = cliEnv(dir.path);
});
afterEach(() => dir.cleanup());

const CODE = /^[A-Za-z0-9_-]{32}$/;

/** Reads the database the CLI wrote, with a connection of its own. */
async function storedCodes() {
  const store = SqliteStore.open(join(dir.path, "argybargy.db"));
  try {
    return await store.listCodes();
  } finally {
    await store.close();
  }
}

async function roomStatus(room: string) {
  const store = SqliteStore.open(join(dir.path, "argybargy.db"));
  try {
    return await store.getRoomStatus(room);
  } finally {
    await store.close();
  }
}

/** The value printed after `label:` on a line of human output. */
function field(stdout: string, label: string): string | undefined {
  return stdout.split("\n").map((l) => l.trim()).find((l) => l.startsWith(`${label}:`))?.slice(label.length + 1).trim();
}

describe("invite", () => {
  test("prints the code once with url, instruction, hashing notice and a curl test; stores only its hash", async () => {
    const r = await cli(["invite", "--name", "alice", "--capabilities", "reads code"], env);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe("");
    expect(r.stdout.split("\n")[0]).toBe("Access code issued.");
    const code = field(r.stdout, "code")!;
    expect(code).toMatch(CODE);
    expect(field(r.stdout, "name")).toBe("alice");
    expect(field(r.stdout, "room")).toBe("default");
    expect(field(r.stdout, "capabilities")).toBe("reads code");
    expect(field(r.stdout, "url")).toBe("http://localhost:8765");
    expect(field(r.stdout, "expires")).toBeUndefined();
    expect(r.stdout).toContain("shown");
    expect(r.stdout).toContain(`Authorization: Bearer ${code}`);
    expect(r.stdout).toContain("http://localhost:8765/messages?wait=25&since=<cursor>");
    expect(r.stdout).toContain(`curl -s http://localhost:8765/whoami -H 'Authorization: Bearer ${code}'`);
    const [row, ...more] = await storedCodes();
    expect(more).toEqual([]);
    expect(row).toMatchObject({ name: "alice", room: "default", capabilities: "reads code", hashed: true, stored: hashCode(code), expiresMs: null });
    expect(row!.display).toBe(`${code.slice(0, 4)}…${code.slice(-4)}`);
  });

  test("--json prints the fields of POST /admin/invite", async () => {
    const before = Date.now();
    const r = await cli(["invite", "--name", "bob", "--room", "lab", "--expires", "1d", "--url", "https://relay.example.com/", "--json"], env);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(Object.keys(doc).sort()).toEqual(["capabilities", "code", "expires", "instruction", "name", "room", "url"]);
    expect(doc).toMatchObject({ name: "bob", room: "lab", capabilities: "", url: "https://relay.example.com" });
    expect(doc.code).toMatch(CODE);
    expect(Date.parse(doc.expires) - before).toBeGreaterThanOrEqual(86_400_000 - 1000);
    expect(Date.parse(doc.expires) - before).toBeLessThan(86_400_000 + 5000);
    expect(doc.instruction).toContain(doc.code);
    expect(doc.instruction).toContain("https://relay.example.com/messages?wait=25");
    expect(doc.instruction).toContain(`claude mcp add --transport http argybargy https://relay.example.com/mcp --header "Authorization: Bearer ${doc.code}"`);
    expect(doc.instruction).toContain(`gemini mcp add --transport http --header "Authorization: Bearer ${doc.code}" argybargy https://relay.example.com/mcp`);
    expect(doc.instruction).toContain(`[mcp_servers.argybargy] table in ~/.codex/config.toml with url = "https://relay.example.com/mcp"`);
  });

  test("the public URL comes from url.txt when there is no --url; expiry is printed", async () => {
    writeFileSync(join(dir.path, "url.txt"), "https://calm-river.trycloudflare.com/\n");
    const r = await cli(["invite", "--name", "carol", "--expires", "30m"], env);
    expect(field(r.stdout, "url")).toBe("https://calm-river.trycloudflare.com");
    expect(field(r.stdout, "expires")).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  });

  test("the fallback URL uses ARGYBARGY_PORT", async () => {
    const r = await cli(["invite", "--name", "dave", "--json"], { ...env, ARGYBARGY_PORT: "9999" });
    expect(JSON.parse(r.stdout).url).toBe("http://localhost:9999");
  });

  test("without hashing the code is stored in plaintext and no notice is printed", async () => {
    const r = await cli(["invite", "--name", "erin"], { ...env, ARGYBARGY_HASH_CODES: "false" });
    expect(r.stdout).not.toContain("shown once");
    expect(r.stdout).not.toContain("only time");
    const [row] = await storedCodes();
    expect(row).toMatchObject({ hashed: false, stored: field(r.stdout, "code") });
  });

  test("a bad name exits 1 with one line and stores nothing", async () => {
    for (const name of ["-dash", "has space", "x".repeat(65), ""]) {
      const r = await cli(["invite", "--name", name], env);
      expect(r.code).toBe(1);
      expect(r.stdout).toBe("");
      expect(lines(r.stderr)).toHaveLength(1);
      expect(r.stderr).toStartWith("argybargy: name must be 1-64 characters");
    }
    expect(await storedCodes()).toEqual([]);
  });

  test("a reserved name exits 1", async () => {
    for (const name of ["operator", "ALL", "anyone", "None"]) {
      const r = await cli(["invite", "--name", name], env);
      expect(r.code).toBe(1);
      expect(lines(r.stderr)).toEqual([`argybargy: name "${name}" is reserved (all, anyone, none, operator); choose another.`]);
    }
  });

  test("a name held by an active code in the room exits 1; other rooms and expired codes do not block", async () => {
    expect((await cli(["invite", "--name", "alice"], env)).code).toBe(0);
    const again = await cli(["invite", "--name", "alice"], env);
    expect(again.code).toBe(1);
    expect(lines(again.stderr)).toEqual(['argybargy: The name "alice" already has an active code in room "default"; revoke it first or pick another name.']);
    expect((await cli(["invite", "--name", "alice", "--room", "other"], env)).code).toBe(0);
    expect((await cli(["invite", "--name", "bob", "--expires", "0m"], env)).code).toBe(0);
    expect((await cli(["invite", "--name", "bob"], env)).code).toBe(0);
  });

  test("a bad expiry exits 1 with the sentence of the API", async () => {
    for (const value of ["bogus", "10x", "-5m", "1y"]) {
      const r = await cli(["invite", "--name", "alice", "--expires", value], env);
      expect(r.code).toBe(1);
      expect(lines(r.stderr)).toEqual([`argybargy: Could not understand expires "${value}"; use e.g. 10m, 30m, 60m, 1d, 1w, 1mo, never.`]);
    }
    expect(await storedCodes()).toEqual([]);
  });

  test("capabilities over 400 characters and a bad room exit 1", async () => {
    expect((await cli(["invite", "--name", "a", "--capabilities", "x".repeat(401)], env)).stderr).toBe("argybargy: capabilities must be at most 400 characters.\n");
    expect((await cli(["invite", "--name", "a", "--room", "no/slash"], env)).stderr).toStartWith("argybargy: room must be");
  });

  test("a bad --url exits 1", async () => {
    const r = await cli(["invite", "--name", "a", "--url", "ftp://x"], env);
    expect(r.code).toBe(1);
    expect(r.stderr).toStartWith("argybargy: --url must be an http:// or https:// URL");
  });

  test("creates a missing data dir 0700 and the database 0600, but no admin token", async () => {
    const nested = join(dir.path, "fresh");
    expect((await cli(["invite", "--name", "a"], { ...env, ARGYBARGY_DATA: nested })).code).toBe(0);
    expect(statSync(nested).mode & 0o777).toBe(0o700);
    expect(statSync(join(nested, "argybargy.db")).mode & 0o777).toBe(0o600);
    expect(existsSync(join(nested, "admin.token"))).toBe(false);
  });
});

describe("codes", () => {
  test("none: says so and shows the invite hint", async () => {
    const r = await cli(["codes"], env);
    expect(r).toEqual({ code: 0, stdout: "No codes stored. Mint one with: argybargy invite --name <peer>\n", stderr: "" });
  });

  test("hash mode: a note first, then masked codes with room, expiry (expired marked) and capabilities", async () => {
    const alice = JSON.parse((await cli(["invite", "--name", "alice", "--capabilities", "tests things", "--json"], env)).stdout);
    const bob = JSON.parse((await cli(["invite", "--name", "bob", "--room", "lab", "--expires", "0m", "--json"], env)).stdout);
    const r = await cli(["codes"], env);
    expect(r.code).toBe(0);
    const out = lines(r.stdout);
    expect(out[0]).toContain("masked");
    expect(out[0]).toContain("shown once");
    expect(out[1]).toMatch(new RegExp(`^alice\\s+room=default\\s+expires=never\\s+${alice.code.slice(0, 4)}…${alice.code.slice(-4)}\\s+\\(tests things\\)$`));
    expect(out[2]).toMatch(new RegExp(`^bob\\s+room=lab\\s+expires=${bob.expires.replace(/\./g, "\\.")} \\(expired\\)\\s+${bob.code.slice(0, 4)}…${bob.code.slice(-4).replace(/[-]/g, "\\-")}$`));
    expect(r.stdout).not.toContain(alice.code);
    expect(r.stdout).not.toContain(bob.code);
  });

  test("without hashing: no note, full codes", async () => {
    const plainEnv = { ...env, ARGYBARGY_HASH_CODES: "off" };
    const alice = JSON.parse((await cli(["invite", "--name", "alice", "--json"], plainEnv)).stdout);
    const r = await cli(["codes"], plainEnv);
    expect(lines(r.stdout)).toHaveLength(1);
    expect(r.stdout).toContain(alice.code);
  });

  test("--json has the code rows of GET /admin/state", async () => {
    await cli(["invite", "--name", "alice", "--expires", "1w"], env);
    const doc = JSON.parse((await cli(["codes", "--json"], env)).stdout);
    expect(doc.hash_codes).toBe(true);
    expect(doc.codes).toHaveLength(1);
    expect(Object.keys(doc.codes[0]).sort()).toEqual(["capabilities", "code", "created", "expires", "name", "room"]);
    expect(doc.codes[0].code).toMatch(/^.{4}….{4}$/);
  });
});

describe("revoke", () => {
  test("by name in every room, or within --room", async () => {
    await cli(["invite", "--name", "alice"], env);
    await cli(["invite", "--name", "alice", "--room", "lab"], env);
    await cli(["invite", "--name", "bob", "--room", "lab"], env);
    const one = await cli(["revoke", "alice", "--room", "lab"], env);
    expect(one).toEqual({ code: 0, stdout: 'Revoked 1 code matching "alice" in room "lab".\n', stderr: "" });
    await cli(["invite", "--name", "alice", "--room", "lab"], env);
    const both = await cli(["revoke", "alice"], env);
    expect(both.stdout).toBe('Revoked 2 codes matching "alice".\n');
    expect((await storedCodes()).map((c) => c.name)).toEqual(["bob"]);
  });

  test("by code value, which is echoed masked", async () => {
    const { code } = JSON.parse((await cli(["invite", "--name", "alice", "--json"], env)).stdout);
    const r = await cli(["revoke", code], env);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`Revoked 1 code matching "${code.slice(0, 4)}…${code.slice(-4)}".\n`);
    expect(r.stdout).not.toContain(code);
    expect(await storedCodes()).toEqual([]);
  });

  test("by code value limited to another room matches nothing", async () => {
    const { code } = JSON.parse((await cli(["invite", "--name", "alice", "--json"], env)).stdout);
    const r = await cli(["revoke", code, "--room", "lab"], env);
    expect(r.code).toBe(0);
    expect(r.stdout).toStartWith("No code matched");
    expect(r.stdout).not.toContain(code);
    expect(await storedCodes()).toHaveLength(1);
  });

  test("none matched: says so, exit 0", async () => {
    const r = await cli(["revoke", "nobody"], env);
    expect(r).toEqual({ code: 0, stdout: 'No code matched "nobody"; nothing was revoked.\n', stderr: "" });
  });

  test("a bad --room exits 1", async () => {
    const r = await cli(["revoke", "alice", "--room", "a b"], env);
    expect(r.code).toBe(1);
    expect(r.stderr).toStartWith("argybargy: room must be");
  });
});

describe("room", () => {
  test("creates an open status and two codes, and prints the brief between two 70-dash rules", async () => {
    const r = await cli(["room", "lab", "--capabilities", "writes the parser", "--url", "https://relay.example.com"], env);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe("");
    expect(r.stdout).toContain('Room "lab" is open.');
    expect(r.stdout).toContain("lab-worker");
    expect(r.stdout).toContain("lab-operator");
    expect(field(r.stdout, "url")).toBe("https://relay.example.com");
    expect(field(r.stdout, "expires")).toBe("never");
    expect(r.stdout).toContain("only time");
    const out = r.stdout.split("\n");
    const rule = "-".repeat(70);
    const first = out.indexOf(rule);
    const last = out.lastIndexOf(rule);
    expect(first).toBeGreaterThan(0);
    expect(last).toBeGreaterThan(first + 10);
    const brief = out.slice(first + 1, last).join("\n");
    expect(brief).toContain("Bridge  : https://relay.example.com");
    expect(brief).toContain("Room    : lab");
    expect(brief).toContain("You are : lab-worker");
    const workerCode = /Code    : (\S+)/.exec(brief)![1]!;
    expect(workerCode).toMatch(CODE);
    expect(brief).toContain(`Authorization: Bearer ${workerCode}`);
    expect(brief).not.toContain("—");
    // Ready-to-paste MCP set-ups with the worker's code, next to the curl path.
    const lines = brief.split("\n").map((l) => l.trim());
    expect(lines).toContain(`claude mcp add --transport http argybargy https://relay.example.com/mcp --header "Authorization: Bearer ${workerCode}"`);
    const toml = lines.indexOf("[mcp_servers.argybargy]");
    expect(lines.slice(toml, toml + 3)).toEqual(["[mcp_servers.argybargy]", 'url = "https://relay.example.com/mcp"', `http_headers = { Authorization = "Bearer ${workerCode}" }`]);
    const gemini = JSON.parse(lines.find((l) => l.startsWith('{ "mcpServers"'))!);
    expect(gemini.mcpServers.argybargy).toEqual({ httpUrl: "https://relay.example.com/mcp", headers: { Authorization: `Bearer ${workerCode}` } });
    expect(brief).toContain("curl -s -X POST https://relay.example.com/messages");
    const operatorCode = field(r.stdout, "operator code")!;
    expect(operatorCode).toMatch(CODE);
    expect(brief).not.toContain(operatorCode);
    const next = out.slice(last + 1).join("\n");
    expect(next).toContain('argybargy post lab "…"');
    expect(next).toContain("argybargy rooms");
    expect(next).toContain("argybargy close lab");

    expect(await roomStatus("lab")).toEqual({ name: "lab", status: "open", closedAtMs: null, closedBy: null });
    const codes = await storedCodes();
    expect(codes.map((c) => [c.name, c.room, c.capabilities, c.stored])).toEqual([
      ["lab-worker", "lab", "writes the parser", hashCode(workerCode)],
      ["lab-operator", "lab", "operator for this room", hashCode(operatorCode)],
    ]);
  });

  test("--worker, --operator, --expires apply; --json adds the brief", async () => {
    const r = await cli(["room", "lab", "--worker", "builder", "--operator", "boss", "--expires", "2h", "--json"], env);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc.room).toEqual({ name: "lab", status: "open", closed_at: null, closed_by: null });
    expect(doc.url).toBe("http://localhost:8765");
    expect(doc.worker).toMatchObject({ name: "builder", room: "lab", capabilities: "" });
    expect(doc.operator).toMatchObject({ name: "boss", room: "lab", capabilities: "operator for this room" });
    expect(doc.worker.expires).toBe(doc.operator.expires);
    expect(Date.parse(doc.worker.expires)).toBeGreaterThan(Date.now() + 7_100_000);
    expect(doc.brief).toContain("You are : builder");
    expect(doc.brief).toContain(`Code    : ${doc.worker.code}`);
    expect(doc.worker.instruction).toContain(doc.worker.code);
  });

  test("a closed room exits 1 naming who closed it and `argybargy reopen`, and writes nothing", async () => {
    const store = SqliteStore.open(join(dir.path, "argybargy.db"));
    await store.setRoomStatus({ name: "lab", status: "closed", closedAtMs: Date.parse("2026-11-24T05:47:13.123Z"), closedBy: "carol" });
    await store.close();
    const r = await cli(["room", "lab"], env);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    expect(lines(r.stderr)).toEqual(['argybargy: room "lab" was closed by carol at 2026-11-24T05:47:13.123Z; reopen it first with `argybargy reopen lab`']);
    expect(await storedCodes()).toEqual([]);
    expect((await roomStatus("lab")).status).toBe("closed");
  });

  test("a taken name exits 1 before anything is written", async () => {
    await cli(["invite", "--name", "lab-operator", "--room", "lab"], env);
    const r = await cli(["room", "lab"], env);
    expect(r.code).toBe(1);
    expect(r.stderr).toStartWith('argybargy: the name "lab-operator" already has an active code in room "lab"');
    expect((await storedCodes()).map((c) => c.name)).toEqual(["lab-operator"]);
  });

  test("everything is validated first: room, names, expiry, capabilities", async () => {
    const cases: [string[], string][] = [
      [["room", "bad room"], "argybargy: room must be"],
      [["room", "lab", "--worker", "all"], 'argybargy: --worker "all" is reserved'],
      [["room", "lab", "--operator", "-x"], "argybargy: --operator must be"],
      [["room", "lab", "--worker", "same", "--operator", "same"], "argybargy: --worker and --operator must differ"],
      [["room", "lab", "--expires", "soon"], 'argybargy: Could not understand expires "soon"'],
      [["room", "lab", "--capabilities", "y".repeat(401)], "argybargy: capabilities must be at most 400"],
    ];
    for (const [argv, start] of cases) {
      const r = await cli(argv, env);
      expect(r.code).toBe(1);
      expect(lines(r.stderr)).toHaveLength(1);
      expect(r.stderr).toStartWith(start);
    }
    expect(existsSync(join(dir.path, "argybargy.db"))).toBe(false);
  });

  test("a long room name needs explicit names, and says so", async () => {
    const room = "r".repeat(60);
    const r = await cli(["room", room], env);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("pass --worker explicitly");
    expect((await cli(["room", room, "--worker", "w", "--operator", "o"], env)).code).toBe(0);
  });
});

describe("token", () => {
  test("creates the data dir and a 0600 token file when missing, never the database; then prints the same token", async () => {
    const data = join(dir.path, "new");
    const first = await cli(["token"], { ...env, ARGYBARGY_DATA: data });
    expect(first.code).toBe(0);
    expect(first.stderr).toBe("");
    expect(first.stdout).toMatch(/^[A-Za-z0-9_-]{32}\n$/);
    const file = join(data, "admin.token");
    expect(readFileSync(file, "utf8")).toBe(first.stdout.trim());
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(existsSync(join(data, "argybargy.db"))).toBe(false);
    expect((await cli(["token"], { ...env, ARGYBARGY_DATA: data })).stdout).toBe(first.stdout);
  });

  test("prints an existing token trimmed, and replaces a blank one", async () => {
    writeFileSync(join(dir.path, "admin.token"), "  my-token \n");
    expect((await cli(["token"], env)).stdout).toBe("my-token\n");
    writeFileSync(join(dir.path, "admin.token"), "\n");
    const r = await cli(["token"], env);
    expect(r.stdout).toMatch(/^[A-Za-z0-9_-]{32}\n$/);
    expect(readFileSync(join(dir.path, "admin.token"), "utf8")).toBe(r.stdout.trim());
  });
});

describe("code quota (ARGYBARGY_MAX_CODES applies to the CLI as to HTTP)", () => {
  test("invite refuses once the quota is full, with one line and exit 1, and writes nothing", async () => {
    const quota = { ...env, ARGYBARGY_MAX_CODES: "2" };
    expect((await cli(["invite", "--name", "a1"], quota)).code).toBe(0);
    expect((await cli(["invite", "--name", "a2"], quota)).code).toBe(0);
    const r = await cli(["invite", "--name", "a3"], quota);
    expect(r.code).toBe(1);
    expect(lines(r.stderr)).toHaveLength(1);
    expect(r.stderr).toContain("quota (2)");
    expect((await storedCodes()).map((c) => c.name)).toEqual(["a1", "a2"]);
  });

  test("room needs room for both codes before it writes anything", async () => {
    const quota = { ...env, ARGYBARGY_MAX_CODES: "3" };
    expect((await cli(["invite", "--name", "a1"], quota)).code).toBe(0);
    expect((await cli(["invite", "--name", "a2"], quota)).code).toBe(0);
    const r = await cli(["room", "ops"], quota);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("quota (3)");
    expect((await storedCodes()).map((c) => c.name)).toEqual(["a1", "a2"]);
    expect((await cli(["room", "ops"], { ...env, ARGYBARGY_MAX_CODES: "4" })).code).toBe(0);
    expect((await storedCodes()).map((c) => c.name).sort()).toEqual(["a1", "a2", "ops-operator", "ops-worker"]);
  });
});
