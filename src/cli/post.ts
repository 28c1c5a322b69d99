import { defineCommand } from "citty";
import { DataDir } from "../store/files.ts";
import { controlUrl, ControlClient } from "./client.ts";
import { setupVerb } from "./context.ts";

interface SayResponse {
  ok: boolean;
  message: { seq: number; ts: string; from: string; to: string; text: string; expects_reply: string; claimed_by: string | null };
}

/** `argybargy post <room> <text>`: speaks through the running bridge (`POST /admin/say`), which wakes the room's pollers. */
export const postCommand = defineCommand({
  meta: { name: "post", description: "Say something in a room (through the running bridge)" },
  args: {
    room: { type: "positional", required: true, description: "Room name" },
    text: { type: "positional", required: true, description: "Message text" },
    to: { type: "string", default: "all", description: "Recipient: all or a member's name" },
    sender: { type: "string", default: "operator", description: "Sender name" },
    expects: { type: "string", description: "Who should answer: a name, anyone, all or none (expects_reply)" },
    url: { type: "string", description: "Bridge URL (default http://127.0.0.1:<ARGYBARGY_PORT>)" },
    json: { type: "boolean", description: "Print one JSON document (the POST /admin/say response)" },
  },
  async run(ctx) {
    const { args } = ctx;
    const { config, out } = setupVerb(ctx);
    const client = new ControlClient(controlUrl(config, args.url), new DataDir(config.dataDir));
    const body: Record<string, string> = { room: args.room, text: args.text, to: args.to, sender: args.sender };
    if (args.expects !== undefined) body.expects_reply = args.expects;
    const res = await client.admin<SayResponse>("POST", "/admin/say", body);
    if (args.json) out.json(res);
    else out.line(`#${args.room} seq ${res.message.seq} sent as ${res.message.from} -> ${res.message.to}`);
  },
});
