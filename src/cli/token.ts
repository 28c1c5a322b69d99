import { defineCommand } from "citty";
import { newSecret } from "../relay/codes.ts";
import { DataDir } from "../store/files.ts";
import { setupVerb } from "./context.ts";
import { fail } from "./output.ts";

/**
 * `argybargy token`: the admin token alone, for scripts. A missing or blank token file is
 * created first (the server will use it); the database is never touched.
 */
export const tokenCommand = defineCommand({
  meta: { name: "token", description: "Print the admin token (creating it when missing)" },
  args: {},
  run(ctx) {
    const { config, out } = setupVerb(ctx);
    const dataDir = new DataDir(config.dataDir);
    try {
      dataDir.ensure();
      let token = dataDir.readToken();
      if (!token) {
        token = newSecret();
        dataDir.writeToken(token);
      }
      out.line(token);
    } catch (err) {
      fail(`cannot read or write ${dataDir.tokenPath} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
  },
});
