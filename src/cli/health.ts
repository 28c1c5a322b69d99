import { defineCommand } from "citty";
import { DataDir } from "../store/files.ts";
import { controlUrl, ControlClient } from "./client.ts";
import { setupVerb } from "./context.ts";
import { fail } from "./output.ts";

/** `argybargy health`: `ok <version>` or one line and exit 1; the container HEALTHCHECK (no curl there). */
export const healthCommand = defineCommand({
  meta: { name: "health", description: "Check that the bridge answers" },
  args: {
    url: { type: "string", description: "Bridge URL (default http://127.0.0.1:<ARGYBARGY_PORT>)" },
  },
  async run(ctx) {
    const { config, out } = setupVerb(ctx);
    const client = new ControlClient(controlUrl(config, ctx.args.url), new DataDir(config.dataDir));
    const health = await client.public<{ status?: unknown; version?: unknown }>("/health");
    if (health.status !== "ok") fail(`${client.baseUrl}/health answered status ${JSON.stringify(health.status)}, not "ok"`);
    out.line(`ok ${String(health.version)}`);
  },
});
