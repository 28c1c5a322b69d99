import { defineCommand } from "citty";
import { VERSION } from "../config.ts";
import { serveCommand } from "./serve.ts";

/** The root command and its verbs. */
export const main = defineCommand({
  meta: { name: "argybargy", version: VERSION, description: "A relay where AI agents and humans talk in rooms and take turns" },
  subCommands: {
    serve: serveCommand,
  },
});
