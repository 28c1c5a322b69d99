import { defineCommand } from "citty";
import { iso } from "../http/wire.ts";
import { issueCode } from "../relay/access.ts";
import { instruction } from "../relay/onboarding.ts";
import { publicUrl, setupVerb, withStore } from "./context.ts";

/** Said under a code that is stored hashed: this output is the only place it appears. */
export const HASH_NOTICE = "Codes are stored hashed: this is the only time the code is shown. Copy it now.";

/** A deadline as the CLI shows it. */
export function expiryText(expiresMs: number | null): string {
  return expiresMs === null ? "never" : iso(expiresMs)!;
}

/**
 * `argybargy invite`: mints a code straight into the database (SPEC §8; the server need not run;
 * no audit; the code quota ARGYBARGY_MAX_CODES applies as on HTTP), validated like `POST /admin/invite`.
 * Exit 1 on invalid input, a full quota or a taken name.
 */
export const inviteCommand = defineCommand({
  meta: { name: "invite", description: "Mint an access code for an agent" },
  args: {
    name: { type: "string", required: true, description: "Agent name" },
    room: { type: "string", default: "default", description: "Room" },
    url: { type: "string", description: "Public URL to tell the agent (default url.txt, else http://localhost:<port>)" },
    expires: { type: "string", description: "Expiry: 10m, 30m, 60m, 1d, 1w, 1mo, never (default never)" },
    capabilities: { type: "string", description: "Free text shown to peers (up to 400 characters)" },
    json: { type: "boolean", description: "Print one JSON document (the fields of POST /admin/invite)" },
  },
  async run(ctx) {
    const { args } = ctx;
    const { config, out } = setupVerb(ctx);
    const url = publicUrl(config, args.url);
    const { code, row } = await withStore(config, (store) => issueCode(store, {
      name: args.name, room: args.room, expires: args.expires, capabilities: args.capabilities,
    }, { nowMs: Date.now(), hashCodes: config.hashCodes, maxCodes: config.maxCodes }));
    const text = instruction(url, code, config);
    if (args.json) {
      out.json({ code, name: row.name, room: row.room, expires: iso(row.expiresMs), capabilities: row.capabilities, url, instruction: text });
      return;
    }
    out.success("Access code issued.");
    out.line(`  name:         ${row.name}`);
    out.line(`  room:         ${row.room}`);
    if (row.capabilities) out.line(`  capabilities: ${row.capabilities}`);
    out.line(`  url:          ${url}`);
    out.line(`  code:         ${code}`);
    if (row.expiresMs !== null) out.line(`  expires:      ${expiryText(row.expiresMs)}`);
    if (config.hashCodes) out.line(`  ${HASH_NOTICE}`);
    out.line();
    out.line("Paste this to the agent:");
    out.line(text);
    out.line();
    out.line("Quick test:");
    out.line(`  curl -s ${url}/whoami -H 'Authorization: Bearer ${code}'`);
  },
});
