import { runCli } from "./cli/index.ts";

/** Resolves once everything written to `stream` so far has been handed to the OS. */
const drained = (stream: NodeJS.WriteStream) => new Promise<void>((resolve) => stream.write("", () => resolve()));

const code = await runCli(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  isTTY: Boolean(process.stdout.isTTY),
  readStdin: () => Bun.stdin.text(),
});
// Exit explicitly once output is flushed: a stopped Bun server otherwise keeps the process
// alive for about two seconds, and exiting before the flush would cut off piped output.
await Promise.all([drained(process.stdout), drained(process.stderr)]);
process.exit(code);
