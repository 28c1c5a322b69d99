import type { ArgsDef } from "citty";
import { CliExit, USAGE_EXIT } from "./output.ts";

/**
 * citty accepts any flag and ignores extra positionals; SPEC §8 makes both usage errors (exit 2).
 * This walks `argv` the way citty parses it and throws a usage CliExit for: an undeclared flag,
 * a value flag without its value, or more positionals than the command declares.
 * `--help`/`-h`/`--version` are handled before this runs.
 */
export function checkArgs(argv: string[], def: ArgsDef): void {
  const values = new Set<string>();
  const booleans = new Set<string>();
  let positionals = 0;
  for (const [name, arg] of Object.entries(def)) {
    if (arg.type === "positional") {
      positionals++;
      continue;
    }
    const names = [name, kebab(name), ...("alias" in arg && arg.alias ? [arg.alias].flat() : [])];
    for (const n of names) (arg.type === "boolean" ? booleans : values).add(n);
  }
  const extra = (token: string) => usage(`unexpected argument ${JSON.stringify(token)}`);
  let seen = 0;
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i]!;
    if (token === "--") {
      const rest = argv.slice(i + 1);
      if (seen + rest.length > positionals) extra(rest[positionals - seen]!);
      break;
    }
    if (!token.startsWith("-") || token === "-") {
      if (++seen > positionals) extra(token);
      continue;
    }
    const eq = token.indexOf("=");
    const name = token.replace(/^--?/, "").slice(0, eq < 0 ? undefined : eq - (token.startsWith("--") ? 2 : 1));
    if (values.has(name)) {
      if (eq < 0 && ++i >= argv.length) usage(`option --${name} needs a value`);
    } else if (!booleans.has(name) && !(name.startsWith("no-") && booleans.has(name.slice(3)))) {
      const hint = /^--?[A-Za-z]/.test(token) ? "" : " (put -- before an argument that starts with -)";
      usage(`unknown option ${token.slice(0, eq < 0 ? undefined : eq)}${hint}`);
    }
  }
}

function usage(message: string): never {
  throw new CliExit(USAGE_EXIT, message);
}

function kebab(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}
