import { defineCommand } from "citty";
import { iso, wireStatus } from "../http/wire.ts";
import { issueCode, type IssuedCode } from "../relay/access.ts";
import { parseExpiry } from "../relay/codes.ts";
import { RelayError } from "../relay/errors.ts";
import { brief, instruction } from "../relay/onboarding.ts";
import { openStatus } from "../relay/rooms.ts";
import type { Store } from "../relay/ports.ts";
import { checkAgentName, checkCapabilities, checkName } from "../relay/validate.ts";
import type { Config } from "../config.ts";
import { publicUrl, setupVerb, withStore } from "./context.ts";
import { expiryText, HASH_NOTICE } from "./invite.ts";
import { fail } from "./output.ts";

const RULE = "-".repeat(70);
/** The operator code's capabilities, so peers can tell it from the worker. */
const OPERATOR_CAPABILITIES = "operator for this room";

/**
 * `argybargy room <name>`: opens a room with a worker and an operator code and prints the
 * onboarding brief for the worker (SPEC §8). Validates everything before writing anything;
 * a closed room ends with exit 1 and the `argybargy reopen` hint.
 */
export const roomCommand = defineCommand({
  meta: { name: "room", description: "Open a room with a worker code and an operator code, and print the worker's brief" },
  args: {
    name: { type: "positional", required: true, description: "Room name" },
    worker: { type: "string", description: "Worker agent name (default <room>-worker)" },
    operator: { type: "string", description: "Operator agent name (default <room>-operator)" },
    url: { type: "string", description: "Public URL to tell the agents (default url.txt, else http://localhost:<port>)" },
    expires: { type: "string", description: "Expiry of both codes: 10m, 30m, 60m, 1d, 1w, 1mo, never (default never)" },
    capabilities: { type: "string", description: "The worker's capabilities (free text, up to 400 characters)" },
    json: { type: "boolean", description: "Print one JSON document (room status, both codes, brief)" },
  },
  async run(ctx) {
    const { args } = ctx;
    const { config, out } = setupVerb(ctx);
    const room = checkName(args.name, "room");
    const worker = agentName(args.worker, `${room}-worker`, "--worker");
    const operator = agentName(args.operator, `${room}-operator`, "--operator");
    if (worker === operator) fail(`--worker and --operator must differ (both are "${worker}")`);
    const nowMs = Date.now();
    parseExpiry(args.expires, nowMs);
    checkCapabilities(args.capabilities);
    const url = publicUrl(config, args.url);

    const issued = await withStore(config, async (store) => {
      await refuseUnavailable(store, room, [worker, operator], nowMs, config.maxCodes);
      await store.setRoomStatus(openStatus(room));
      const opts = { nowMs, hashCodes: config.hashCodes, maxCodes: config.maxCodes };
      return {
        worker: await issueCode(store, { name: worker, room, expires: args.expires, capabilities: args.capabilities }, opts),
        operator: await issueCode(store, { name: operator, room, expires: args.expires, capabilities: OPERATOR_CAPABILITIES }, opts),
      };
    });
    const text = brief(url, room, worker, issued.worker.code, config);
    if (args.json) {
      out.json({ room: wireStatus(openStatus(room)), url, worker: codeJson(issued.worker, url, config), operator: codeJson(issued.operator, url, config), brief: text });
      return;
    }
    out.success(`Room "${room}" is open.`);
    out.line(`  worker:   ${worker} (its code is in the brief below)`);
    out.line(`  operator: ${operator}`);
    out.line(`  operator code: ${issued.operator.code}`);
    out.line(`  url:      ${url}`);
    out.line(`  expires:  ${expiryText(issued.worker.row.expiresMs)}`);
    if (config.hashCodes) out.line(`  ${HASH_NOTICE}`);
    out.line();
    out.line(`Give this brief to the worker agent (${worker}):`);
    out.line(RULE);
    out.line(text);
    out.line(RULE);
    out.line();
    out.line("Next steps:");
    const steps: [string, string][] = [
      [`argybargy post ${room} "…"`, "speak in the room"],
      ["argybargy rooms", "see every room"],
      [`argybargy close ${room}`, "dismiss the agents when done"],
    ];
    const width = Math.max(...steps.map(([cmd]) => cmd.length)) + 3;
    for (const [cmd, what] of steps) out.line(`  ${cmd.padEnd(width)}${what}`);
  },
});

/** A flag's name, or the default derived from the room (which a long room name can push past 64). */
function agentName(flag: string | undefined, derived: string, field: string): string {
  try {
    return checkAgentName(flag ?? derived, field);
  } catch (err) {
    if (flag === undefined && err instanceof RelayError) fail(`${err.message} (the default "${derived}" comes from the room name; pass ${field} explicitly)`);
    throw err;
  }
}

/** Exit 1 when the room is closed, or a name already holds an active code there. */
async function refuseUnavailable(store: Store, room: string, names: string[], nowMs: number, maxCodes: number): Promise<void> {
  const status = await store.getRoomStatus(room);
  if (status.status === "closed") {
    const at = iso(status.closedAtMs);
    fail(`room "${room}" was closed by ${status.closedBy ?? "the operator"}${at ? ` at ${at}` : ""}; reopen it first with \`argybargy reopen ${room}\``);
  }
  const taken = (await store.listCodes()).find((c) => c.room === room && names.includes(c.name) && (c.expiresMs === null || c.expiresMs > nowMs));
  if (taken) fail(`the name "${taken.name}" already has an active code in room "${room}"; revoke it first (\`argybargy revoke ${taken.name} --room ${room}\`) or pick another name`);
  // Both codes or neither: check the quota (ARGYBARGY_MAX_CODES) before writing anything.
  const stored = await store.countCodes();
  if (maxCodes > 0 && stored + names.length > maxCodes) {
    fail(`the code quota (${maxCodes}) has room for ${Math.max(0, maxCodes - stored)} more code(s) and a room needs ${names.length}; revoke unused codes first (\`argybargy codes\`)`);
  }
}

function codeJson({ code, row }: IssuedCode, url: string, config: Config) {
  return { code, name: row.name, room: row.room, expires: iso(row.expiresMs), capabilities: row.capabilities, url, instruction: instruction(url, code, config) };
}
