import { defineCommand, parseArgs, renderUsage, runCommand, type ArgsDef, type CommandDef } from "citty";
import { VERSION } from "../config.ts";
import { RelayError } from "../relay/errors.ts";
import { checkArgs } from "./args.ts";
import { backupCommand } from "./backup.ts";
import { closeCommand } from "./close.ts";
import { codesCommand } from "./codes.ts";
import { connectCommand } from "./connect.ts";
import { oneLine } from "./context.ts";
import { attachCommand } from "./attach.ts";
import { healthCommand } from "./health.ts";
import { hookCommand } from "./hook.ts";
import { importCommand } from "./import.ts";
import { inviteCommand } from "./invite.ts";
import { mcpCommand } from "./mcp.ts";
import { migrateCommand } from "./migrate.ts";
import { CliExit, stripAnsi, USAGE_EXIT, type CliIo } from "./output.ts";
import { postCommand } from "./post.ts";
import { reopenCommand } from "./reopen.ts";
import { restoreCommand } from "./restore.ts";
import { revokeCommand } from "./revoke.ts";
import { roomCommand } from "./room.ts";
import { roomsCommand } from "./rooms.ts";
import { serveCommand } from "./serve.ts";
import { tokenCommand } from "./token.ts";
import { upCommand } from "./up.ts";

/** Every verb of SPEC §8, in the order the usage text lists them. */
const VERBS: Record<string, CommandDef<any>> = {
  up: upCommand,
  serve: serveCommand,
  token: tokenCommand,
  invite: inviteCommand,
  codes: codesCommand,
  revoke: revokeCommand,
  room: roomCommand,
  post: postCommand,
  rooms: roomsCommand,
  close: closeCommand,
  reopen: reopenCommand,
  health: healthCommand,
  attach: attachCommand,
  hook: hookCommand,
  connect: connectCommand,
  import: importCommand,
  backup: backupCommand,
  restore: restoreCommand,
  migrate: migrateCommand,
  mcp: mcpCommand,
};

/** The root command and its verbs. */
export const main = defineCommand({
  meta: { name: "argybargy", version: VERSION, description: "A relay where AI agents and humans talk in rooms and take turns" },
  subCommands: VERBS,
});

const isHelp = (t: string) => t === "--help" || t === "-h";
const isVersion = (t: string) => t === "--version" || t === "-v";

/**
 * Runs one CLI invocation against `io` and returns the exit code (SPEC §8): 0 ok; 1 failure
 * with one line on stderr; 2 usage error with the usage text. `--help` anywhere prints that
 * command's usage (exit 0); `--version` prints the version. main.ts and the tests both call it.
 */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  const at = argv.findIndex((t) => !t.startsWith("-"));
  const rootFlags = at < 0 ? argv : argv.slice(0, at);
  const badRoot = rootFlags.find((t) => !isHelp(t) && !isVersion(t));
  if (badRoot !== undefined) return usageError(io, main, undefined, `unknown option ${badRoot}`);
  if (rootFlags.some(isHelp)) return help(io, main);
  if (rootFlags.some(isVersion)) return version(io);
  if (at < 0) return usageError(io, main, undefined, "no command given");

  const name = argv[at]!;
  const verb = Object.hasOwn(VERBS, name) ? VERBS[name]! : undefined;
  if (!verb) return usageError(io, main, undefined, `unknown command ${JSON.stringify(name)}`);
  const rest = argv.slice(at + 1);
  const dashDash = rest.indexOf("--");
  const flags = dashDash < 0 ? rest : rest.slice(0, dashDash);
  if (flags.some(isHelp)) return help(io, verb, main);
  if (flags.includes("--version")) return version(io);
  try {
    const def = (verb.args ?? {}) as ArgsDef;
    checkArgs(rest, def);
    parseArgs(rest, def);
  } catch (err) {
    return usageError(io, verb, main, (err as Error).message);
  }
  try {
    await runCommand(verb, { rawArgs: rest, data: io });
    return 0;
  } catch (err) {
    const code = err instanceof CliExit ? err.code : 1;
    const message = err instanceof CliExit || err instanceof RelayError ? err.message : `unexpected error: ${(err as Error)?.message ?? String(err)}`;
    io.stderr.write(`argybargy: ${oneLine(message)}\n`);
    return code;
  }
}

async function usageText(io: CliIo, cmd: CommandDef<any>, parent?: CommandDef<any>): Promise<string> {
  // citty pads every column, leaving trailing blanks on each line.
  const text = (await renderUsage(cmd, parent)).replace(/[ \t]+$/gm, "").trimEnd();
  return io.isTTY ? text : stripAnsi(text);
}

async function help(io: CliIo, cmd: CommandDef<any>, parent?: CommandDef<any>): Promise<number> {
  io.stdout.write(`${await usageText(io, cmd, parent)}\n`);
  return 0;
}

function version(io: CliIo): number {
  io.stdout.write(`${VERSION}\n`);
  return 0;
}

async function usageError(io: CliIo, cmd: CommandDef<any>, parent: CommandDef<any> | undefined, message: string): Promise<number> {
  io.stderr.write(`${await usageText(io, cmd, parent)}\n\nargybargy: ${oneLine(stripAnsi(message))}\n`);
  return USAGE_EXIT;
}
