import { defineCommand } from "citty";
import { DataDir } from "../store/files.ts";
import type { RoomStatusResponse } from "./close.ts";
import { controlUrl, ControlClient, roomPath } from "./client.ts";
import { setupVerb } from "./context.ts";

/** `argybargy reopen <room>`: opens a closed room again through the bridge. */
export const reopenCommand = defineCommand({
  meta: { name: "reopen", description: "Reopen a closed room (through the running bridge)" },
  args: {
    room: { type: "positional", required: true, description: "Room name" },
    by: { type: "string", description: "Who reopens it (default operator)" },
    url: { type: "string", description: "Bridge URL (default http://127.0.0.1:<ARGYBARGY_PORT>)" },
  },
  async run(ctx) {
    const { config, out } = setupVerb(ctx);
    const client = new ControlClient(controlUrl(config, ctx.args.url), new DataDir(config.dataDir));
    const body = ctx.args.by === undefined ? {} : { by: ctx.args.by };
    const { room } = await client.admin<RoomStatusResponse>("POST", roomPath(ctx.args.room, "reopen"), body);
    out.line(`Room "${room.name}" is open again.`);
    out.line("Agents dismissed by the close will not come back on their own; invite new ones with");
    out.line(`  argybargy room ${room.name}    or    argybargy invite --name <peer> --room ${room.name}`);
  },
});
