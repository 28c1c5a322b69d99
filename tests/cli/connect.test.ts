import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tempDir } from "../helpers.ts";
import { cli, cliEnv } from "./run-cli.ts";

/** `argybargy connect`: the entries it prints, and `claude --write` merging into existing files. */

const URL_ = "https://calm-river.trycloudflare.com";
let dir: ReturnType<typeof tempDir>;
let project: string;
beforeEach(() => {
  dir = tempDir("argy-connect-");
  project = join(dir.path, "project");
  mkdirSync(project);
});
afterEach(() => dir.cleanup());

const env = () => cliEnv(join(dir.path, "data"));
const connect = (...argv: string[]) => cli(["connect", ...argv], env());
const json = (path: string) => JSON.parse(readFileSync(path, "utf8"));
const settingsPath = () => join(project, ".claude", "settings.json");
const mcpPath = () => join(project, ".mcp.json");

describe("connect claude", () => {
  test("prints the MCP entry and the three hooks for this relay, with no code in them", async () => {
    const r = await cli(["connect", "claude", "--url", URL_], cliEnv(join(dir.path, "data"), { ARGYBARGY_CODE: "" }));
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`"url": "${URL_}/mcp"`);
    expect(r.stdout).toContain('"Authorization": "Bearer ${ARGYBARGY_CODE}"');
    expect(r.stdout).toContain(`"command": "argybargy hook claude-stop --url ${URL_}"`);
    expect(r.stdout).toContain(`"command": "argybargy hook claude-context --url ${URL_}"`);
    expect(r.stdout).toContain(`claude mcp add --transport http argybargy ${URL_}/mcp --header "Authorization: Bearer $ARGYBARGY_CODE"`);
    expect(r.stdout).toContain(`argybargy attach --url ${URL_} --exec 'claude -p --continue "$ARGYBARGY_SUMMARY"'`);
  });

  test("--write into an empty project creates both files", async () => {
    const r = await connect("claude", "--url", URL_, "--write", "--dir", project);
    expect(r.code).toBe(0);
    expect(json(mcpPath())).toEqual({ mcpServers: { argybargy: { type: "http", url: `${URL_}/mcp`, headers: { Authorization: "Bearer ${ARGYBARGY_CODE}" } } } });
    const s = json(settingsPath());
    expect(Object.keys(s.hooks).sort()).toEqual(["SessionStart", "Stop", "UserPromptSubmit"]);
    expect(s.hooks.Stop).toEqual([{ hooks: [{ type: "command", command: `argybargy hook claude-stop --url ${URL_}`, timeout: 60 }] }]);
  });

  test("--write merges into existing files without dropping the user's entries, and a second run changes nothing", async () => {
    mkdirSync(join(project, ".claude"));
    const userSettings = {
      permissions: { allow: ["Bash(npm test)"] },
      env: { FOO: "1" },
      hooks: {
        Stop: [{ hooks: [{ type: "command", command: "notify-send done" }] }],
        PreToolUse: [{ matcher: "Bash", hooks: [{ type: "command", command: "audit.sh" }] }],
      },
    };
    writeFileSync(settingsPath(), JSON.stringify(userSettings, null, 4));
    writeFileSync(mcpPath(), JSON.stringify({ mcpServers: { github: { type: "http", url: "https://example.test/mcp" } } }));
    const codeFile = join(dir.path, "my code.txt");
    writeFileSync(codeFile, "x".repeat(32));
    expect((await connect("claude", "--url", URL_, "--write", "--dir", project, "--code-file", codeFile)).code).toBe(0);
    const s = json(settingsPath());
    expect(s.permissions).toEqual(userSettings.permissions);
    expect(s.env).toEqual(userSettings.env);
    expect(s.hooks.PreToolUse).toEqual(userSettings.hooks.PreToolUse);
    expect(s.hooks.Stop).toEqual([
      { hooks: [{ type: "command", command: "notify-send done" }] },
      { hooks: [{ type: "command", command: `argybargy hook claude-stop --url ${URL_} --code-file '${codeFile}'`, timeout: 60 }] },
    ]);
    expect(json(mcpPath()).mcpServers.github).toEqual({ type: "http", url: "https://example.test/mcp" });
    expect(readFileSync(settingsPath(), "utf8")).not.toContain("x".repeat(32));
    const once = readFileSync(settingsPath(), "utf8");
    expect((await connect("claude", "--url", URL_, "--write", "--dir", project, "--code-file", codeFile)).code).toBe(0);
    expect(readFileSync(settingsPath(), "utf8")).toBe(once);
  });

  test("--write refuses a file it cannot parse and writes neither file", async () => {
    mkdirSync(join(project, ".claude"));
    const broken = '{ "hooks": { "Stop": [ ] , }\n';
    writeFileSync(settingsPath(), broken);
    const r = await connect("claude", "--url", URL_, "--write", "--dir", project);
    expect(r.code).toBe(1);
    expect(r.stderr).toStartWith(`argybargy: cannot parse ${settingsPath()} as JSON (`);
    expect(r.stderr).toContain("nothing was written");
    expect(readFileSync(settingsPath(), "utf8")).toBe(broken);
    expect(existsSync(mcpPath())).toBe(false);
  });

  test("--write refuses hooks of the wrong shape and a non-object file", async () => {
    mkdirSync(join(project, ".claude"));
    writeFileSync(settingsPath(), JSON.stringify({ hooks: { Stop: "oops" } }));
    const r = await connect("claude", "--url", URL_, "--write", "--dir", project);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('"hooks.Stop" in');
    writeFileSync(mcpPath(), "[1, 2]");
    writeFileSync(settingsPath(), "{}");
    const r2 = await connect("claude", "--url", URL_, "--write", "--dir", project);
    expect(r2.code).toBe(1);
    expect(r2.stderr).toContain("does not hold a JSON object");
    expect(readFileSync(settingsPath(), "utf8")).toBe("{}");
  });
});

describe("connect codex and gemini", () => {
  test("codex: the config.toml table reads the bearer from ARGYBARGY_CODE, and the exec resume recipe", async () => {
    const r = await connect("codex", "--url", URL_);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`[mcp_servers.argybargy]\nurl = "${URL_}/mcp"\nbearer_token_env_var = "ARGYBARGY_CODE"\n`);
    expect(r.stdout).toContain(`--exec 'codex exec resume --last "$ARGYBARGY_SUMMARY"'`);
  });

  test("gemini: the settings.json entry uses httpUrl and the header from $ARGYBARGY_CODE", async () => {
    const r = await connect("gemini", "--url", URL_);
    expect(r.code).toBe(0);
    const start = r.stdout.indexOf("{");
    const entry = r.stdout.slice(start, r.stdout.indexOf("\n}\n", start) + 2);
    expect(JSON.parse(entry)).toEqual({ mcpServers: { argybargy: { httpUrl: `${URL_}/mcp`, headers: { Authorization: "Bearer $ARGYBARGY_CODE" } } } });
  });

  test("an unknown client, or --write for another client, is refused", async () => {
    expect((await connect("cursor", "--url", URL_)).stderr).toBe('argybargy: unknown client "cursor"; use claude, codex or gemini\n');
    expect((await connect("codex", "--url", URL_, "--write")).code).toBe(1);
  });
});
