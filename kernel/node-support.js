#!/usr/bin/env node
// @ts-check
// Which Node majors this project is tested on, and the install-time check of the running one.
//
//   node kernel/node-support.js     (npm's "prepare" runs it before the build)
//
// A tested major passes silently. An untested major gets one warning and goes on. A major on
// which koffi or zeromq cannot load (no prebuilt binary for it: both ship prebuilds, built
// against Node-API) stops the install with the reason, since nothing of the library or the
// kernel could work there.

/** The majors `npm run test:node` runs the suite under (CI: the whole suite on the machine's, a subset on the others). */
const TESTED_MAJORS = [20, 22, 24, 26];

/** @param {string} version e.g. "24.22.3" */
function majorOf(version) {
  return Number(version.split(".")[0]);
}

/**
 * The native packages that must load, with the reason a failure stops the install.
 * @returns {{ name: string, error: string }[]} the ones that failed
 */
function nativeFailures() {
  /** @type {{ name: string, error: string }[]} */
  const failed = [];
  for (const name of ["koffi", "zeromq"]) {
    try {
      require(name);
    } catch (e) {
      const missing = /** @type {NodeJS.ErrnoException} */ (e).code === "MODULE_NOT_FOUND";
      const first = e instanceof Error ? e.message.split("\n")[0] : String(e);
      failed.push({
        name,
        error: missing ? "not installed (run npm install first)" : `no prebuilt binary loads here: ${first}`,
      });
    }
  }
  return failed;
}

/**
 * What the install says about a Node version: a warning for an untested major, errors (which
 * stop the install) for native packages that cannot load.
 * @param {string} version e.g. "24.22.3"
 * @param {{ name: string, error: string }[]} failures from nativeFailures()
 * @returns {{ warnings: string[], errors: string[] }}
 */
function check(version, failures) {
  const warnings = [];
  const errors = [];
  if (!TESTED_MAJORS.includes(majorOf(version))) {
    warnings.push(
      `tslab-ipc: Node ${version} is not a tested version (tested: ${TESTED_MAJORS.join(", ")}); going on.`,
    );
  }
  for (const f of failures) errors.push(`tslab-ipc: ${f.name} cannot load on Node ${version}: ${f.error}`);
  if (errors.length)
    errors.push(`tslab-ipc: stopping: use one of the tested Node majors (${TESTED_MAJORS.join(", ")}).`);
  return { warnings, errors };
}

function main() {
  const { warnings, errors } = check(process.versions.node, nativeFailures());
  for (const w of warnings) console.warn(w);
  for (const e of errors) console.error(e);
  if (errors.length) process.exit(1);
}

if (require.main === module) main();
module.exports = { TESTED_MAJORS, majorOf, nativeFailures, check };
