/**
 * The configuration entries `argybargy connect` prints or merges, per client, and the merge of
 * Claude Code's files. None of them holds the code: MCP headers name ARGYBARGY_CODE (expanded by
 * the client), hooks read ARGYBARGY_CODE or a `--code-file` path.
 */

/** The name the relay is registered under in every client's MCP list. */
export const SERVER_NAME = "argybargy";

/** Quotes `s` for a POSIX shell command line (hooks run through the user's shell). */
export function shellQuote(s: string): string {
  return /^[A-Za-z0-9_./:@%+=,-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** Where the hooks' commands find the relay and the code. */
export interface HookTarget {
  bin: string;
  url: string;
  codeFile: string | null;
}

/** The command line of one hook (`claude-stop` or `claude-context`). */
export function hookCommandLine(kind: "claude-stop" | "claude-context", t: HookTarget): string {
  const parts = [shellQuote(t.bin), "hook", kind, "--url", shellQuote(t.url)];
  if (t.codeFile) parts.push("--code-file", shellQuote(t.codeFile));
  return parts.join(" ");
}

/** Claude Code's MCP entry (`.mcp.json` `mcpServers.argybargy`): HTTP transport, bearer from ARGYBARGY_CODE. */
export function claudeMcpEntry(url: string) {
  return { type: "http", url: `${url}/mcp`, headers: { Authorization: "Bearer ${ARGYBARGY_CODE}" } };
}

/** Seconds Claude Code lets each hook run: the Stop hook's 20 s wait plus its hard-timer slack fit well inside. */
const STOP_TIMEOUT_SECONDS = 60;
const CONTEXT_TIMEOUT_SECONDS = 30;

/** Claude Code's hook entries (`.claude/settings.json` `hooks`): Stop, UserPromptSubmit, SessionStart. */
export function claudeHookEntries(t: HookTarget): Record<string, unknown[]> {
  const group = (kind: "claude-stop" | "claude-context", timeout: number) => [{ hooks: [{ type: "command", command: hookCommandLine(kind, t), timeout }] }];
  return {
    Stop: group("claude-stop", STOP_TIMEOUT_SECONDS),
    UserPromptSubmit: group("claude-context", CONTEXT_TIMEOUT_SECONDS),
    SessionStart: group("claude-context", CONTEXT_TIMEOUT_SECONDS),
  };
}

/** Codex CLI's `config.toml` table: Streamable HTTP, the bearer read from ARGYBARGY_CODE. */
export function codexToml(url: string): string {
  return `[mcp_servers.${SERVER_NAME}]\nurl = ${JSON.stringify(`${url}/mcp`)}\nbearer_token_env_var = "ARGYBARGY_CODE"\n`;
}

/** Gemini CLI's `settings.json` entry (`httpUrl` = Streamable HTTP; `$ARGYBARGY_CODE` is expanded by Gemini CLI). */
export function geminiMcpEntry(url: string) {
  return { httpUrl: `${url}/mcp`, headers: { Authorization: "Bearer $ARGYBARGY_CODE" } };
}

/** A file that cannot be merged into: the caller writes nothing. */
export class MergeError extends Error {}

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);

/** Parses a settings file's text; "" is an empty object. Throws MergeError for anything but a JSON object. */
export function parseSettings(text: string, path: string): Json {
  if (!text.trim()) return {};
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    throw new MergeError(`cannot parse ${path} as JSON (${(err as Error).message}); fix or move it, nothing was written`);
  }
  if (!isObject(v)) throw new MergeError(`${path} does not hold a JSON object; fix or move it, nothing was written`);
  return v;
}

const OURS = /\bhook\s+claude-(stop|context)\b/;

/**
 * `hooks` merged with ours: every other group and hook is kept; a hook of ours from an earlier
 * `connect` is replaced, so running it twice changes nothing. Throws MergeError on a bad shape.
 */
export function mergeHooks(settings: Json, ours: Record<string, unknown[]>, path: string): Json {
  const hooks = settings.hooks ?? {};
  if (!isObject(hooks)) throw new MergeError(`"hooks" in ${path} is not an object; fix it, nothing was written`);
  const merged: Json = { ...hooks };
  for (const [event, groups] of Object.entries(ours)) {
    const existing = hooks[event] ?? [];
    if (!Array.isArray(existing)) throw new MergeError(`"hooks.${event}" in ${path} is not a list; fix it, nothing was written`);
    const kept = existing.flatMap((g) => {
      if (!isObject(g) || !Array.isArray(g.hooks)) return [g];
      const others = g.hooks.filter((h) => !(isObject(h) && typeof h.command === "string" && OURS.test(h.command)));
      if (others.length === g.hooks.length) return [g];
      return others.length ? [{ ...g, hooks: others }] : [];
    });
    merged[event] = [...kept, ...groups];
  }
  return { ...settings, hooks: merged };
}

/** `mcpServers` with ours set (replacing an earlier one of the same name), the others kept. */
export function mergeMcpServer(settings: Json, entry: unknown, path: string): Json {
  const servers = settings.mcpServers ?? {};
  if (!isObject(servers)) throw new MergeError(`"mcpServers" in ${path} is not an object; fix it, nothing was written`);
  return { ...settings, mcpServers: { ...servers, [SERVER_NAME]: entry } };
}
