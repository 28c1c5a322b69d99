import { defineCommand } from "citty";
import { wireCode } from "../http/wire.ts";
import { expiryText } from "./invite.ts";
import { setupVerb, withStore } from "./context.ts";
import { table } from "./output.ts";

/** `argybargy codes`: every stored code (expired ones marked), read from the database. */
export const codesCommand = defineCommand({
  meta: { name: "codes", description: "List stored access codes" },
  args: {
    json: { type: "boolean", description: "Print one JSON document (hash_codes and codes, as in GET /admin/state)" },
  },
  async run(ctx) {
    const { config, out } = setupVerb(ctx);
    const codes = await withStore(config, (store) => store.listCodes());
    if (ctx.args.json) {
      out.json({ hash_codes: config.hashCodes, codes: codes.map(wireCode) });
      return;
    }
    if (codes.length === 0) {
      out.line("No codes stored. Mint one with: argybargy invite --name <peer>");
      return;
    }
    if (config.hashCodes) out.line("Codes are stored hashed, so they are masked here; each was shown once, when it was issued.");
    const now = Date.now();
    const rows = codes.map((c) => {
      const expired = c.expiresMs !== null && c.expiresMs <= now;
      return [c.name, `room=${c.room}`, `expires=${expiryText(c.expiresMs)}${expired ? " (expired)" : ""}`, c.display, c.capabilities ? `(${c.capabilities})` : ""];
    });
    for (const line of table(rows)) out.line(line);
  },
});
