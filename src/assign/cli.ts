#!/usr/bin/env node
// tslab-ipc release|grade (also `npm run release` / `npm run grade`):
//   tslab-ipc release SOURCE.ipynb [--out DIR] [--no-execute] [--no-pdf] [--timeout S]
//   tslab-ipc grade SOURCE.ipynb SUBMISSIONS --out DIR [--timeout S] [--jobs N] [--snapshot auto|always|never]
// Exit 0 when the work completed (whatever the students scored), 1 on a usage or setup error.
import path from "path";
import { jupyterUnavailableReason } from "../handouts/jupyter";
import { gradeSubmissions, gradeSummary } from "./grade";
import { releaseAssignment } from "./release";
import { SNAPSHOT_MODES, type SnapshotMode } from "./sandbox-snapshot";
import { withCode } from "../codes";

const USAGE = `usage:
  tslab-ipc release SOURCE.ipynb [--out DIR] [--no-execute] [--no-pdf] [--timeout SECONDS]
  tslab-ipc grade SOURCE.ipynb SUBMISSIONS --out DIR [--timeout SECONDS] [--jobs N] [--snapshot auto|always|never]`;

const VALUED = new Set(["--out", "--timeout", "--jobs", "--snapshot"]);

function parse(args: string[]): { positional: string[]; options: Map<string, string | true> } {
  const positional: string[] = [];
  const options = new Map<string, string | true>();
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (VALUED.has(a)) {
      if (i + 1 >= args.length) throw withCode(new Error(`${a} needs a value`), "ERR_USAGE");
      options.set(a, args[++i]);
    } else if (a.startsWith("--")) options.set(a, true);
    else positional.push(a);
  }
  return { positional, options };
}

function positiveNumber(v: string | true | undefined, name: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!(n > 0)) throw withCode(new Error(`${name} must be a positive number, got ${v}`), "ERR_USAGE");
  return n;
}

function snapshotMode(v: string | true | undefined): SnapshotMode | undefined {
  if (v === undefined) return undefined;
  const mode = SNAPSHOT_MODES.find((m) => m === v);
  if (!mode) throw withCode(new Error(`--snapshot must be one of ${SNAPSHOT_MODES.join(", ")}, got ${v}`), "ERR_USAGE");
  return mode;
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command !== "release" && command !== "grade") {
    console.error(USAGE);
    return command === "--help" || command === "-h" ? 0 : 1;
  }
  const { positional, options } = parse(rest);
  const missing = jupyterUnavailableReason();
  if (missing && !(command === "release" && options.has("--no-execute"))) {
    console.error(`tslab-ipc ${command} needs Jupyter: ${missing}`);
    return 1;
  }
  const out = options.get("--out");
  const timeoutSeconds = positiveNumber(options.get("--timeout"), "--timeout");
  if (command === "release") {
    if (positional.length !== 1) throw withCode(new Error(USAGE), "ERR_USAGE");
    const report = await releaseAssignment({
      source: positional[0],
      outDir: path.resolve(typeof out === "string" ? out : "release"),
      execute: !options.has("--no-execute"),
      pdf: !options.has("--no-pdf"),
      timeoutSeconds,
    });
    for (const f of report.files) console.log(`wrote ${path.relative(process.cwd(), f) || f}`);
    for (const w of report.warnings) console.log(`warning: ${w}`);
    return 0;
  }
  if (positional.length !== 2 || typeof out !== "string") throw withCode(new Error(USAGE), "ERR_USAGE");
  const report = await gradeSubmissions({
    source: positional[0],
    submissions: positional[1],
    outDir: path.resolve(out),
    timeoutSeconds,
    jobs: positiveNumber(options.get("--jobs"), "--jobs"),
    snapshot: snapshotMode(options.get("--snapshot")),
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
