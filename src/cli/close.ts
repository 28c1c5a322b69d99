import { defineCommand } from "citty";
import { DataDir } from "../store/files.ts";
import { controlUrl, ControlClient, roomPath } from "./client.ts";
import { setupVerb } from "./context.ts";

/** The `room` object of the close/reopen responses (SPEC §6.8). */
export interface RoomStatusResponse {
  ok: boolean;
  room: { name: string; status: string; closed_at: string | null; closed_by: string | null };
}

/** `argybargy close <room>`: closes it through the bridge, which tells every parked poller to leave. */
export const closeCommand = defineCommand({
  meta: { name: "close", description: "Close a room and dismiss its agents (through the running bridge)" },
  args: {
    room: { type: "positional", required: true, description: "Room name" },
    by: { type: "string", default: "operator", description: "Who closes it (shown to the agents)" },
    url: { type: "string", description: "Bridge URL (default http://127.0.0.1:<ARGYBARGY_PORT>)" },
  },
  async run(ctx) {
    const { config, out } = setupVerb(ctx);
    const client = new ControlClient(controlUrl(config, ctx.args.url), new DataDir(config.dataDir));
    const { room } = await client.admin<RoomStatusResponse>("POST", roomPath(ctx.args.room, "close"), { by: ctx.args.by });
    out.line(`Room "${room.name}" was closed by ${room.closed_by} at ${room.closed_at}; its pollers have been told to leave (should_exit true).`);
  },
});
