import { runCli } from "./cli/index.ts";

/** How long the process may linger after the command finished (stdout draining) before it exits anyway. */
const LINGER_MS = 2000;

// process.exit would cut off output still queued for a pipe, so the code is set and the event
// loop allowed to drain; an unref'd timer ends the process should anything keep it alive.
process.exitCode = await runCli(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  isTTY: Boolean(process.stdout.isTTY),
});
setTimeout(() => process.exit(), LINGER_MS).unref();
