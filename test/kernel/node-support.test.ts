// The install-time check of the running Node (kernel/node-support.js): silent on a tested major,
// one warning on an untested one, a stop where a native package cannot load.
import { spawnSync } from "child_process";
import path from "path";
import { repoRoot } from "../helpers";

const support = require(path.join(repoRoot, "kernel", "node-support.js")) as {
  TESTED_MAJORS: number[];
  check(version: string, failures: { name: string; error: string }[]): { warnings: string[]; errors: string[] };
};

test("the tested majors are 20, 22, 24 and 26, and package.json's engines admit exactly those", () => {
  expect(support.TESTED_MAJORS).toEqual([20, 22, 24, 26]);
  const engines = (require(path.join(repoRoot, "package.json")) as { engines: { node: string } }).engines.node;
  expect(engines).toBe(">=20 <27");
});

test("a tested major passes silently", () => {
  for (const major of support.TESTED_MAJORS) {
    expect(support.check(`${major}.1.0`, [])).toEqual({ warnings: [], errors: [] });
  }
});

test("an untested major gets exactly one warning and no error", () => {
  const { warnings, errors } = support.check("28.0.0", []);
  expect(warnings).toEqual(["tslab-ipc: Node 28.0.0 is not a tested version (tested: 20, 22, 24, 26); going on."]);
  expect(errors).toEqual([]);
});

test("a native package that cannot load stops the install, naming the package and the reason", () => {
  const { errors } = support.check("26.0.0", [{ name: "zeromq", error: "no prebuilt binary loads here: x" }]);
  expect(errors[0]).toBe("tslab-ipc: zeromq cannot load on Node 26.0.0: no prebuilt binary loads here: x");
  expect(errors[1]).toMatch(/^tslab-ipc: stopping/);
});

test("on this machine's Node the check passes: koffi and zeromq load", () => {
  const r = spawnSync(process.execPath, [path.join(repoRoot, "kernel", "node-support.js")], { encoding: "utf8" });
  expect(r.stderr).toBe("");
  expect(r.status).toBe(0);
});

test("the kernelspec follows the Node it was installed with", () => {
  // kernel/install.js writes kernel.json from process.execPath: under `npm run test:node -- 24`
  // that is Node 24, so the kernels of the run are Node 24 too.
  const { kernelSpec } = require(path.join(repoRoot, "kernel", "install.js")) as { kernelSpec(): { argv: string[] } };
  expect(kernelSpec().argv.slice(0, 3)).toEqual([
    "/bin/sh",
    path.join(repoRoot, "kernel", "start.sh"),
    process.execPath,
  ]);
  if (process.env.TSLAB_IPC_TEST_NODE) expect(process.version).toBe(process.env.TSLAB_IPC_TEST_NODE);
});
