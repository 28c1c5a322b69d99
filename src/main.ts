import { runCommand, showUsage } from "citty";
import { main } from "./cli/index.ts";
import { CliExit, USAGE_EXIT } from "./cli/output.ts";
import { VERSION } from "./config.ts";

/** Compile entry: runs the CLI and maps failures to exit codes (1 failure, 2 usage). */
async function run(argv: string[]): Promise<void> {
  if (argv.length === 1 && (argv[0] === "--version" || argv[0] === "-v")) {
    process.stdout.write(`${VERSION}\n`);
    return;
  }
  try {
    await runCommand(main, { rawArgs: argv });
  } catch (err) {
    if (err instanceof CliExit) {
      process.stderr.write(`argybargy: ${err.message}\n`);
      process.exit(err.code);
    }
    await showUsage(main);
    process.stderr.write(`argybargy: ${(err as Error).message}\n`);
    process.exit(USAGE_EXIT);
  }
}

await run(process.argv.slice(2));
