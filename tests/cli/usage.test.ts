import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { tempDir } from "../helpers.ts";
import { cli, cliEnv } from "./run-cli.ts";

let dir: ReturnType<typeof tempDir>;
let env: Record<string, string>;
beforeEach(() => {
  dir = tempDir("argy-cli-usage-");
  env = cliEnv(dir.path);
});
afterEach(() => dir.cleanup());

const VERBS = ["up", "serve", "token", "invite", "codes", "revoke", "room", "post", "rooms", "close", "reopen", "health", "import", "backup", "restore", "migrate", "mcp"];

describe("usage errors exit 2 with the usage text", () => {
  test("no command", async () => {
    const r = await cli([], env);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain("USAGE argybargy");
    for (const verb of VERBS) expect(r.stderr).toContain(verb);
    expect(r.stderr.trimEnd().split("\n").at(-1)).toBe("argybargy: no command given");
  });

  test("unknown command", async () => {
    const r = await cli(["launch"], env);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("USAGE argybargy");
    expect(r.stderr).toEndWith('argybargy: unknown command "launch"\n');
  });

  test("unknown flag on a verb shows that verb's usage and touches nothing", async () => {
    const r = await cli(["invite", "--name", "alice", "--colour", "red"], env);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("USAGE argybargy invite");
    expect(r.stderr).toEndWith("argybargy: unknown option --colour\n");
    expect(existsSync(join(dir.path, "argybargy.db"))).toBe(false);
  });

  test("unknown flag written with = and unknown root flag", async () => {
    expect((await cli(["codes", "--all=yes"], env)).stderr).toEndWith("argybargy: unknown option --all\n");
    const root = await cli(["--verbose", "codes"], env);
    expect(root.code).toBe(2);
    expect(root.stderr).toEndWith("argybargy: unknown option --verbose\n");
  });

  test("single-dash flags that are not declared are unknown", async () => {
    const r = await cli(["invite", "-n", "alice"], env);
    expect(r.code).toBe(2);
    expect(r.stderr).toEndWith("argybargy: unknown option -n\n");
  });

  test.each(["import", "backup", "restore"])("%s without its file or directory is a usage error and touches nothing", async (verb) => {
    const r = await cli([verb], env);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`USAGE argybargy ${verb}`);
    expect(existsSync(join(dir.path, "argybargy.db"))).toBe(false);
  });

  test("missing required flag", async () => {
    const r = await cli(["invite"], env);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("USAGE argybargy invite");
    expect(r.stderr).toEndWith("argybargy: Missing required argument: --name\n");
  });

  test("missing required positional", async () => {
    const r = await cli(["post", "lobby"], env);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("USAGE argybargy post");
    expect(r.stderr).toEndWith("argybargy: Missing required positional argument: TEXT\n");
    expect((await cli(["revoke"], env)).stderr).toEndWith("argybargy: Missing required positional argument: TARGET\n");
  });

  test("a value flag without its value", async () => {
    const r = await cli(["invite", "--name"], env);
    expect(r.code).toBe(2);
    expect(r.stderr).toEndWith("argybargy: option --name needs a value\n");
  });

  test("an extra positional", async () => {
    const r = await cli(["revoke", "alice", "bob"], env);
    expect(r.code).toBe(2);
    expect(r.stderr).toEndWith('argybargy: unexpected argument "bob"\n');
    expect((await cli(["codes", "x"], env)).code).toBe(2);
  });

  test("a text that starts with a dash needs --, and then works as a positional", async () => {
    const bad = await cli(["post", "lobby", "-5 degrees"], env);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("put -- before an argument that starts with -");
    // With `--` it parses; the (absent) server is what fails now, with exit 1.
    const ok = await cli(["post", "--url", "http://127.0.0.1:1", "lobby", "--", "-5 degrees"], env);
    expect(ok.stderr).not.toContain("USAGE");
    expect(ok.code).toBe(1);
  });

  test("the usage text is plain when not on a terminal", async () => {
    const r = await cli(["nope"], env);
    expect(r.stderr).not.toContain("\x1b[");
  });
});

describe("--help and --version", () => {
  test("--help prints the root usage on stdout, exit 0", async () => {
    for (const flag of ["--help", "-h"]) {
      const r = await cli([flag], env);
      expect(r.code).toBe(0);
      expect(r.stderr).toBe("");
      expect(r.stdout).toContain("USAGE argybargy");
      for (const verb of VERBS) expect(r.stdout).toContain(verb);
    }
  });

  test.each(VERBS)("%s --help prints that verb's usage, exit 0", async (verb) => {
    const r = await cli([verb, "--help"], env);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe("");
    expect(r.stdout).toContain(`USAGE argybargy ${verb}`);
  });

  test("--help anywhere wins over missing or unknown arguments", async () => {
    const r = await cli(["post", "--bogus", "-h"], env);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("USAGE argybargy post");
    expect(r.stdout).toContain("--expects");
    expect(existsSync(join(dir.path, "admin.token"))).toBe(false);
  });

  test("up --help lists --no-tunnel", async () => {
    expect((await cli(["up", "--help"], env)).stdout).toContain("--no-tunnel");
  });

  test("--version on the root and on each verb prints 1.1.0", async () => {
    for (const argv of [["--version"], ["-v"], ...VERBS.map((v) => [v, "--version"])]) {
      const r = await cli(argv, env);
      expect(r).toEqual({ code: 0, stdout: "1.1.0\n", stderr: "" });
    }
  });
});

test("--port must be a plain whole number: empty, hex and exponent forms are refused", async () => {
  for (const port of ["", "0x10", "1e3", "-1", "70000"]) {
    const r = await cli(["serve", "--port", port], env);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("--port");
  }
});
