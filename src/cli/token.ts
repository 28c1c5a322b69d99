import { defineCommand } from "citty";
import { newSecret } from "../relay/codes.ts";
import { DataDir } from "../store/files.ts";
import { PgSharedState } from "../store/pg-shared.ts";
import { PgStore } from "../store/postgres.ts";
import { oneLine, setupVerb } from "./context.ts";
import { fail } from "./output.ts";

/**
 * `argybargy token`: the admin token alone, for scripts. A missing or blank token file is
 * created first (the server will use it); the database is never touched — except with
 * ARGYBARGY_DATABASE_URL, where every instance's token lives in the database.
 */
export const tokenCommand = defineCommand({
  meta: { name: "token", description: "Print the admin token (creating it when missing)" },
  args: {},
  async run(ctx) {
    const { config, out } = setupVerb(ctx);
    if (config.databaseUrl) {
      let store: PgStore | undefined;
      try {
        store = await PgStore.open(config.databaseUrl, { max: 1 });
        out.line(await new PgSharedState(store).saveAdminToken(newSecret(), true));
      } catch (err) {
        fail(oneLine((err as Error).message));
      } finally {
        await store?.close();
      }
      return;
    }
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
