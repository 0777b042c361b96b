#!/usr/bin/env node
// tslab-ipc release|grade (also `npm run release` / `npm run grade`):
//   tslab-ipc release SOURCE.ipynb [--out DIR] [--no-execute] [--no-pdf] [--timeout S]
//   tslab-ipc grade SOURCE.ipynb SUBMISSIONS --out DIR [--timeout S] [--jobs N] [--snapshot auto|always|never]
// Exit 0 when the work completed (whatever the students scored) or for -h/--help, 1 on a usage
// error (an option the command does not take, a bad value: before anything runs) or a setup error.
import path from "path";
import {
  countOption,
  positiveOption,
  readCommandLine,
  stringOption,
  usageError,
  type CommandLine,
  type OptionKinds,
} from "../command-line";
import { jupyterUnavailableReason } from "../handouts/jupyter";
import { gradeSubmissions, gradeSummary } from "./grade";
import { releaseAssignment } from "./release";
import { SNAPSHOT_MODES, type SnapshotMode } from "./sandbox-snapshot";

const USAGE = `usage:
  tslab-ipc release SOURCE.ipynb [--out DIR] [--no-execute] [--no-pdf] [--timeout SECONDS]
  tslab-ipc grade SOURCE.ipynb SUBMISSIONS --out DIR [--timeout SECONDS] [--jobs N] [--snapshot auto|always|never]`;

/** The options each command takes (src/command-line.ts refuses any other). */
const OPTIONS: Record<"release" | "grade", OptionKinds> = {
  release: { out: "string", "no-execute": "boolean", "no-pdf": "boolean", timeout: "string" },
  grade: { out: "string", timeout: "string", jobs: "string", snapshot: "string" },
};

function snapshotMode(v: string | undefined): SnapshotMode | undefined {
  if (v === undefined) return undefined;
  const mode = SNAPSHOT_MODES.find((m) => m === v);
  if (!mode) throw usageError(`--snapshot must be one of ${SNAPSHOT_MODES.join(", ")}, got ${v}`, USAGE);
  return mode;
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command !== "release" && command !== "grade") {
    console.error(USAGE);
    return command === "--help" || command === "-h" ? 0 : 1;
  }
  const line = readCommandLine(rest, OPTIONS[command], USAGE, true);
  if (line.help) {
    console.log(USAGE);
    return 0;
  }
  return command === "release" ? release(line) : grade(line);
}

/** "1 argument", "3 arguments". */
function argumentsGiven(line: CommandLine): string {
  const n = line.positionals.length;
  return `${n} argument${n === 1 ? "" : "s"}`;
}

/** Jupyter's absence, said for `command`; null when it is there. */
function withoutJupyter(command: string): string | null {
  const missing = jupyterUnavailableReason();
  return missing && `tslab-ipc ${command} needs Jupyter: ${missing}`;
}

// Each command checks its whole command line, then Jupyter's presence, before anything runs.

async function release(line: CommandLine): Promise<number> {
  const timeoutSeconds = positiveOption(line, "timeout", USAGE);
  if (line.positionals.length !== 1) {
    throw usageError(`release takes one notebook, got ${argumentsGiven(line)}`, USAGE);
  }
  const execute = line.options["no-execute"] !== true;
  const missing = execute ? withoutJupyter("release") : null;
  if (missing) {
    console.error(missing);
    return 1;
  }
  const report = await releaseAssignment({
    source: line.positionals[0],
    outDir: path.resolve(stringOption(line, "out") ?? "release"),
    execute,
    pdf: line.options["no-pdf"] !== true,
    timeoutSeconds,
  });
  for (const f of report.files) console.log(`wrote ${path.relative(process.cwd(), f) || f}`);
  for (const w of report.warnings) console.log(`warning: ${w}`);
  return 0;
}

async function grade(line: CommandLine): Promise<number> {
  const out = stringOption(line, "out");
  if (out === undefined) throw usageError("grade needs --out DIR", USAGE);
  if (line.positionals.length !== 2) {
    throw usageError(`grade takes a notebook and a folder, got ${argumentsGiven(line)}`, USAGE);
  }
  const options = {
    timeoutSeconds: positiveOption(line, "timeout", USAGE),
    jobs: countOption(line, "jobs", USAGE),
    snapshot: snapshotMode(stringOption(line, "snapshot")),
  };
  const missing = withoutJupyter("grade");
  if (missing) {
    console.error(missing);
    return 1;
  }
  const report = await gradeSubmissions({
    source: line.positionals[0],
    submissions: line.positionals[1],
    outDir: path.resolve(out),
    ...options,
  });
  console.log("\n" + gradeSummary(report));
  console.log(`\ngrades in ${path.join(out, "grades.csv")}, feedback in ${path.join(out, "feedback")}/`);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  },
);
