import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { defineCommand } from "citty";
import { loadAgentEnv } from "../config.ts";
import { agentUrl } from "./agent-client.ts";
import {
  claudeHookEntries, claudeMcpEntry, codexToml, geminiMcpEntry, mergeHooks, MergeError, mergeMcpServer, parseSettings, SERVER_NAME, shellQuote, type HookTarget,
} from "./connect-entries.ts";
import { setupVerb } from "./context.ts";
import { fail, type Output } from "./output.ts";

const CLIENTS = ["claude", "codex", "gemini"] as const;
type Client = (typeof CLIENTS)[number];

/** `argybargy connect claude|codex|gemini`: the MCP entry, hooks and wake recipe for one client. */
export const connectCommand = defineCommand({
  meta: { name: "connect", description: "Print (claude: or merge with --write) a client's MCP entry, hooks and wake recipe" },
  args: {
    client: { type: "positional", required: true, description: "claude, codex or gemini" },
    url: { type: "string", description: "Relay URL agents use (default ARGYBARGY_URL, else http://127.0.0.1:<ARGYBARGY_PORT>)" },
    "code-file": { type: "string", description: "Make the hooks read the code from this file (default: they read ARGYBARGY_CODE)" },
    write: { type: "boolean", description: "claude: merge into .mcp.json and .claude/settings.json under --dir, keeping every other entry" },
    dir: { type: "string", description: "Project directory for --write (default the current one)" },
    bin: { type: "string", default: "argybargy", description: "How the hooks call argybargy (a name on PATH or an absolute path)" },
  },
  run(ctx) {
    const { io, config, out } = setupVerb(ctx);
    const { args } = ctx;
    const client = args.client as Client;
    if (!CLIENTS.includes(client)) fail(`unknown client ${JSON.stringify(args.client)}; use claude, codex or gemini`);
    if (args.write && client !== "claude") fail("--write is for claude only; paste the codex or gemini entry into its config file");
    const env = loadAgentEnv(io.env);
    const url = agentUrl(args.url, env, config.port);
    const codeFile = args["code-file"] ? resolve(args["code-file"]) : null;
    if (codeFile && !existsSync(codeFile)) fail(`the code file ${codeFile} does not exist`);
    const target: HookTarget = { bin: args.bin, url, codeFile };
    if (client === "claude") return args.write ? writeClaude(out, resolve(args.dir ?? "."), target) : printClaude(out, target);
    if (client === "codex") return printCodex(out, url);
    printGemini(out, url);
  },
});

const codeNote = (t: HookTarget) => t.codeFile
  ? `# The hooks read the code from ${t.codeFile}; the MCP entry reads ARGYBARGY_CODE: export it before starting the client.`
  : "# Nothing here holds the code: export ARGYBARGY_CODE=<your code> in the shell that starts the client.";

const wakeRecipe = (url: string, exec: string) => `argybargy attach --url ${shellQuote(url)} --exec ${shellQuote(exec)}`;

function printClaude(out: Output, t: HookTarget): void {
  out.line("# Claude Code, MCP server: .mcp.json in the project (or the claude mcp add line below)");
  out.line(JSON.stringify({ mcpServers: { [SERVER_NAME]: claudeMcpEntry(t.url) } }, null, 2));
  out.line(`# claude mcp add --transport http ${SERVER_NAME} ${shellQuote(`${t.url}/mcp`)} --header "Authorization: Bearer $ARGYBARGY_CODE"`);
  out.line("# Claude Code, hooks: .claude/settings.json (Stop keeps a session working on what needs it; the others add it as context)");
  out.line(JSON.stringify({ hooks: claudeHookEntries(t) }, null, 2));
  out.line("# Or wake an idle session from outside, one new turn per burst:");
  out.line(`# ${wakeRecipe(t.url, 'claude -p --continue "$ARGYBARGY_SUMMARY"')}`);
  out.line(codeNote(t));
}

function printCodex(out: Output, url: string): void {
  out.line("# Codex CLI: ~/.codex/config.toml (or .codex/config.toml in a trusted project)");
  out.line(codexToml(url).trimEnd());
  out.line("# Wake it when something needs it (a new turn of its last session per burst):");
  out.line(`# ${wakeRecipe(url, 'codex exec resume --last "$ARGYBARGY_SUMMARY"')}`);
  out.line("# Nothing here holds the code: export ARGYBARGY_CODE=<your code> in the shell that starts codex.");
}

function printGemini(out: Output, url: string): void {
  out.line("# Gemini CLI: ~/.gemini/settings.json (or .gemini/settings.json in the project)");
  out.line(JSON.stringify({ mcpServers: { [SERVER_NAME]: geminiMcpEntry(url) } }, null, 2));
  out.line("# Wake it when something needs it (a new turn of its latest session per burst):");
  out.line(`# ${wakeRecipe(url, 'gemini --resume latest --prompt "$ARGYBARGY_SUMMARY"')}`);
  out.line("# Nothing here holds the code: export ARGYBARGY_CODE=<your code> in the shell that starts gemini.");
}

/** Reads a settings file ("" when missing); a directory or unreadable file is a MergeError. */
function readSettingsFile(path: string): string {
  if (!existsSync(path)) return "";
  if (!statSync(path).isFile()) throw new MergeError(`${path} is not a file; nothing was written`);
  return readFileSync(path, "utf8");
}

/** Writes `value` as JSON through a temporary file and a rename, keeping an existing file's mode. */
function writeJson(path: string, value: unknown): void {
  mkdirSync(dirname(path), { recursive: true });
  const mode = existsSync(path) ? statSync(path).mode & 0o777 : 0o644;
  const tmp = `${path}.argybargy-${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(value, null, 2)}\n`, { mode });
  renameSync(tmp, path);
}

/** `connect claude --write`: both files are parsed and merged before either is written. */
function writeClaude(out: Output, dir: string, t: HookTarget): void {
  const mcpPath = join(dir, ".mcp.json");
  const settingsPath = join(dir, ".claude", "settings.json");
  let mcp: Record<string, unknown>;
  let settings: Record<string, unknown>;
  try {
    mcp = mergeMcpServer(parseSettings(readSettingsFile(mcpPath), mcpPath), claudeMcpEntry(t.url), mcpPath);
    settings = mergeHooks(parseSettings(readSettingsFile(settingsPath), settingsPath), claudeHookEntries(t), settingsPath);
  } catch (err) {
    if (err instanceof MergeError) fail(err.message);
    throw err;
  }
  writeJson(mcpPath, mcp);
  writeJson(settingsPath, settings);
  out.line(`wrote the ${SERVER_NAME} MCP server into ${mcpPath}`);
  out.line(`wrote the Stop, UserPromptSubmit and SessionStart hooks into ${settingsPath}`);
  out.line(codeNote(t));
}
