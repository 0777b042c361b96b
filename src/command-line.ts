// The command lines of `npm start` (src/handouts/cli.ts) and of `release` and `grade`
// (src/assign/cli.ts), read by Node's util.parseArgs in strict mode:
//  - an option the command does not take (`--job 4`, `--no-pfd`) is refused by its name before
//    anything runs, where it was ignored: `npm start -- --help` built all the handouts;
//  - `--name=value` is `--name value` (it was a flag of that whole name, ignored);
//  - `-h` or `--help` prints the usage and nothing runs.
// A usage error is an Error with code ERR_USAGE whose message names what was wrong, then the
// usage. Values are strings as typed: each command checks its own (numbers, names).
import { parseArgs } from "util";
import { withCode } from "./codes";

/** The options a command takes: a name (without "--") and whether it takes a value. */
export type OptionKinds = Record<string, "string" | "boolean">;

/** A command line as read: each option given (a string, or true for a flag), and the rest. */
export interface CommandLine {
  options: Record<string, string | true | undefined>;
  positionals: string[];
  /** -h or --help was given: print `usage` and do nothing else. */
  help: boolean;
}

/** A usage error: `problem`, then the usage. */
export function usageError(problem: string, usage: string): Error {
  return withCode(new Error(`${problem}\n${usage}`), "ERR_USAGE");
}

/**
 * Reads `args` (process.argv.slice(2) or after a subcommand) taking the options of `kinds`, and
 * positional arguments when `positionals` is true. Throws a usage error (ERR_USAGE) for an
 * unknown option, a value missing, or a positional argument where none is taken.
 */
export function readCommandLine(args: string[], kinds: OptionKinds, usage: string, positionals = false): CommandLine {
  const options: Record<string, { type: "string" | "boolean"; short?: string }> = {
    help: { type: "boolean", short: "h" },
  };
  for (const [name, type] of Object.entries(kinds)) options[name] = { type };
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args, options, allowPositionals: positionals, strict: true });
  } catch (e) {
    // ERR_PARSE_ARGS_UNKNOWN_OPTION, _INVALID_OPTION_VALUE, _UNEXPECTED_POSITIONAL: the message
    // names the argument.
    if ((e as NodeJS.ErrnoException).code?.startsWith("ERR_PARSE_ARGS_")) throw usageError((e as Error).message, usage);
    throw e;
  }
  const { help, ...given } = parsed.values as Record<string, string | boolean | undefined>;
  const read: Record<string, string | true | undefined> = {};
  for (const [name, value] of Object.entries(given)) read[name] = value === false ? undefined : value;
  return { options: read, positionals: parsed.positionals, help: help === true };
}

/** The value of a string option, or undefined when it was not given. */
export function stringOption(line: CommandLine, name: string): string | undefined {
  const value = line.options[name];
  return typeof value === "string" ? value : undefined;
}

/** A whole number of at least 1 (`--jobs`), or undefined when the option was not given. */
export function countOption(line: CommandLine, name: string, usage: string): number | undefined {
  const text = stringOption(line, name);
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1)
    throw usageError(`--${name} must be a whole number of at least 1, got ${text}`, usage);
  return n;
}

/** A number above 0 (`--timeout` in seconds), or undefined when the option was not given. */
export function positiveOption(line: CommandLine, name: string, usage: string): number | undefined {
  const text = stringOption(line, name);
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!(n > 0) || !Number.isFinite(n)) throw usageError(`--${name} must be a positive number, got ${text}`, usage);
  return n;
}
