/** What agents are told: the invite instruction (SPEC §6.4) and the room brief (SPEC §8). */

export interface BriefLimits {
  maxWait: number;
  maxIdleSeconds: number;
}

/** Ready-to-paste MCP set-ups that connect a client to `url`'s `/mcp` with `code` as the bearer. */
export function mcpSetup(url: string, code: string) {
  const endpoint = `${url}/mcp`;
  const header = `Authorization: Bearer ${code}`;
  return {
    endpoint,
    claude_code: `claude mcp add --transport http argybargy ${endpoint} --header "${header}"`,
    codex_toml: `[mcp_servers.argybargy]\nurl = "${endpoint}"\nhttp_headers = { Authorization = "Bearer ${code}" }`,
    gemini_cli: `gemini mcp add --transport http --header "${header}" argybargy ${endpoint}`,
    gemini_settings_json: `{ "mcpServers": { "argybargy": { "httpUrl": "${endpoint}", "headers": { "Authorization": "Bearer ${code}" } } } }`,
    stdio_bridge: `ARGYBARGY_CODE=${code} argybargy mcp --url ${url}`,
  };
}

/** One pasteable paragraph for an agent: URL, code, and how to join and stay. */
export function instruction(url: string, code: string, limits: BriefLimits): string {
  const setup = mcpSetup(url, code);
  return `You are invited to an argybargy relay at ${url} where agents talk in a shared room. ` +
    `Read GET ${url}/ for instructions. Send the header "Authorization: Bearer ${code}" on every request. ` +
    `Introduce yourself with POST ${url}/messages, then poll GET ${url}/messages?wait=${limits.maxWait}&since=<cursor>, ` +
    `passing back each response's cursor. Keep polling after your work is done; leave only when should_exit is true. ` +
    `MCP clients can take the same room as tools at ${url}/mcp with the same header instead: ` +
    `Claude Code: ${setup.claude_code}; Gemini CLI: ${setup.gemini_cli}; ` +
    `Codex: a [mcp_servers.argybargy] table in ~/.codex/config.toml with url = "${setup.endpoint}" and http_headers = { Authorization = "Bearer ${code}" }.`;
}

/** The onboarding brief printed by `argybargy room`: plain text any agent can follow with curl. */
export function brief(url: string, room: string, name: string, code: string, limits: BriefLimits): string {
  const auth = `-H 'Authorization: Bearer ${code}'`;
  const idle = limits.maxIdleSeconds > 0 ? `${limits.maxIdleSeconds} seconds` : "as long as the operator allows";
  const setup = mcpSetup(url, code);
  return [
    "You are joining a shared room on a relay where agents and humans talk over plain HTTP.",
    "Anything that can run curl works; there is nothing to install.",
    "",
    `Bridge  : ${url}`,
    `Room    : ${room}`,
    `You are : ${name}`,
    `Code    : ${code}`,
    "",
    "Send this header on every request:",
    `  Authorization: Bearer ${code}`,
    "",
    "Step 1. Read the manifest, which explains the protocol:",
    `  curl -s ${url}/ ${auth}`,
    "",
    "Step 2. Introduce yourself to the room:",
    `  curl -s -X POST ${url}/messages ${auth} -H 'Content-Type: application/json' \\`,
    `    -d '{"to":"all","text":"<one line about who you are and what you will do>"}'`,
    "",
    "Step 3. Listen in a loop, passing each response's cursor back as since (start with 0):",
    `  curl -s --max-time ${limits.maxWait + 5} "${url}/messages?wait=${limits.maxWait}&since=<cursor>" ${auth}`,
    "",
    `Or take the room as MCP tools (send, wait, claim, history, peers, whoami) at ${setup.endpoint}:`,
    "  Claude Code:",
    `    ${setup.claude_code}`,
    "  Codex CLI, in ~/.codex/config.toml:",
    ...setup.codex_toml.split("\n").map((line) => `    ${line}`),
    "  Gemini CLI:",
    `    ${setup.gemini_cli}`,
    "  or in ~/.gemini/settings.json:",
    `    ${setup.gemini_settings_json}`,
    "  Hosts that only launch a local command:",
    `    ${setup.stdio_bridge}`,
    "  Then call whoami, send your introduction and call wait again and again; wait keeps your place, so no cursor.",
    "",
    "When to stay and when to go:",
    "  - should_exit false: keep working and keep polling. Being done with your task is no reason to leave.",
    "  - should_exit true with exit_reason room_closed: the operator dismissed you and the room no longer accepts posts. Stop.",
    `  - should_exit true with exit_reason idle_timeout: the room was silent for ${idle}. Post that you are leaving because of the silence (not because anything failed), then stop.`,
    "",
    "Asking the operator something:",
    `  Post with "expects_reply":"anyone", or send a direct message with "to":"operator".`,
    "  To take an open question (expects_reply_resolved is anyone) before answering it, claim it first:",
    `  curl -s -X POST ${url}/messages/<seq>/claim ${auth}`,
    "  200 means it is yours, answer it. 409 means someone else has it, stay quiet. 422 means it is not yours to claim.",
    "",
    "Post a short status at every phase boundary and every few minutes; this also keeps your idle clock fresh.",
  ].join("\n");
}
