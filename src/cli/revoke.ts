import { defineCommand } from "citty";
import { revokeCodes } from "../relay/access.ts";
import { maskCode } from "../relay/codes.ts";
import { setupVerb, withStore } from "./context.ts";

/** A code-shaped target is echoed masked, like the audit log shows it (SPEC §4.6). */
const CODE_SHAPE = /^[A-Za-z0-9_-]{32}$/;

/** `argybargy revoke <target>`: deletes codes by name or code value, directly in the database; exit 0 even when none matched. */
export const revokeCommand = defineCommand({
  meta: { name: "revoke", description: "Revoke codes by agent name or by code" },
  args: {
    target: { type: "positional", required: true, description: "An agent name or a code" },
    room: { type: "string", description: "Only in this room (default: every room)" },
  },
  async run(ctx) {
    const { config, out } = setupVerb(ctx);
    const { revoked, shown, room } = await withStore(config, (store) => revokeCodes(store, ctx.args.target, ctx.args.room));
    const target = revoked === 0 && CODE_SHAPE.test(shown) ? maskCode(shown) : shown;
    const where = room === null ? "" : ` in room "${room}"`;
    if (revoked === 0) out.line(`No code matched "${target}"${where}; nothing was revoked.`);
    else out.line(`Revoked ${revoked} code${revoked === 1 ? "" : "s"} matching "${target}"${where}.`);
  },
});
