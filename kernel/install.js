#!/usr/bin/env node
// @ts-check
// Registers (or removes) the "TypeScript (IPC)" kernelspec with the Jupyter on this machine, and
// installs the Debian packages the project uses when told to.
//
//   node kernel/install.js [install|uninstall|system-packages] [--user|--sys] [--soft] [--apt]
//
// install          npm's "prepare" hook. First the system packages (.ci/system-packages.txt, the
//                  one list): `npm install` run as root installs what is missing with apt-get;
//                  `npm ci` never runs apt; otherwise the single apt-get line to run is printed.
//                  Then it writes kernel.json with the absolute paths of node and kernel/start.sh
//                  (which runs kernel/main.js) and registers it (replacing an older one): per
//                  user, or system-wide as root (--user / --sys choose). JUPYTER_DATA_DIR is
//                  honoured (Jupyter's own rule). The start-up snapshot of the kernel
//                  (kernel/snapshot.js) is then built in the background: the machine's for a
//                  system-wide kernel, else the user's unless the machine's serves them.
// system-packages  what the list needs and the machine lacks; --apt installs it (root only).
//                  .ci/setup-system runs this.
// --soft           never fail (npm's "prepare" uses it: the library installs without Jupyter).
//
// It may run as root (npm install, CI), in a folder someone else controls, so it trusts nothing
// it inherits: Python runs isolated (-I: no current folder, PYTHONPATH or user site on its
// path), every tool is called by its absolute path, children get a minimal environment and run
// in "/", and a system-wide kernel is refused when it would run code from a checkout that users
// other than root and the installer can write.

const fs = require("fs");
const os = require("os");
const path = require("path");
const { spawnSync } = require("child_process");
const { parseArgs } = require("util");

const KERNEL_NAME = "tslab-ipc";
const kernelDir = __dirname;
const repoRoot = path.dirname(kernelDir);
const PACKAGE_LIST = path.join(repoRoot, ".ci", "system-packages.txt");
const uid = typeof process.getuid === "function" ? process.getuid() : -1;
const isRoot = uid === 0;

const PYTHON = "/usr/bin/python3";
const APT_GET = "/usr/bin/apt-get";
const DPKG_QUERY = "/usr/bin/dpkg-query";
const SAFE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
/** The only variables children inherit: where Jupyter keeps things, and the home they derive from. */
const PASSED_ON = ["HOME", "JUPYTER_DATA_DIR", "JUPYTER_CONFIG_DIR", "JUPYTER_RUNTIME_DIR"];

/** A minimal environment: a fixed PATH, a locale, and PASSED_ON from ours. */
function childEnv(extra = {}) {
  /** @type {NodeJS.ProcessEnv} */
  const env = { PATH: SAFE_PATH, LANG: "C.UTF-8" };
  for (const name of PASSED_ON) if (process.env[name]) env[name] = process.env[name];
  return { ...env, ...extra };
}

/** Runs an absolute path in "/" with the minimal environment. @param {string} cmd @param {string[]} args */
function run(cmd, args, { inherit = false, env = {} } = {}) {
  if (!path.isAbsolute(cmd)) throw new Error(`internal: ${cmd} is not an absolute path`);
  return spawnSync(cmd, args, {
    cwd: "/",
    env: childEnv(env),
    encoding: "utf8",
    stdio: inherit ? ["ignore", "inherit", "inherit"] : "pipe",
  });
}

// ---- system packages -------------------------------------------------------------------------

/** The Debian packages of .ci/system-packages.txt (package, then why; # comments). */
function listedPackages(file = PACKAGE_LIST) {
  return fs
    .readFileSync(file, "utf8")
    .split("\n")
    .map((line) => line.replace(/#.*/, "").trim().split(/\s+/)[0])
    .filter(Boolean);
}

/**
 * The listed packages dpkg does not have installed; null when this is not a Debian system.
 * @param {string[]} packages
 * @returns {string[] | null}
 */
function missingPackages(packages) {
  if (!fs.existsSync(DPKG_QUERY)) return null;
  // biome-ignore lint/suspicious/noTemplateCurlyInString: dpkg-query's own format fields, passed to it literally
  const r = run(DPKG_QUERY, ["-W", "-f=${Package} ${Status}\\n", ...packages]);
  const installed = new Set(
    r.stdout
      .split("\n")
      .filter((l) => / install ok installed$/.test(l))
      .map((l) => l.split(" ")[0]),
  );
  return packages.filter((/** @type {string} */ p) => !installed.has(p));
}

/**
 * Makes sure the listed packages are there: installs the missing ones when `apt` (root only),
 * else says what to run. Returns true when nothing is missing any more.
 */
function systemPackages(/** @type {boolean} */ apt) {
  let packages;
  try {
    packages = listedPackages();
  } catch {
    return true; // not a checkout (an installed package has no .ci/): nothing to do
  }
  const missing = missingPackages(packages);
  if (missing === null) {
    console.log(`tslab-ipc: not a Debian system; the tests and handouts use the equivalents of: ${packages.join(" ")}`);
    return true;
  }
  if (missing.length === 0) return true;
  const line = `apt-get install -y ${missing.join(" ")}`;
  if (!apt || !isRoot) {
    console.log(`tslab-ipc: Debian packages the tests and handouts use are missing. Run as root:\n  ${line}`);
    return false;
  }
  console.log(`tslab-ipc: installing Debian packages: ${line}`);
  const env = { DEBIAN_FRONTEND: "noninteractive" };
  let ok = run(APT_GET, ["install", "-y", "-q", ...missing], { inherit: true, env }).status === 0;
  if (!ok) {
    console.log("tslab-ipc: retrying after apt-get update");
    ok =
      run(APT_GET, ["update", "-q"], { inherit: true, env }).status === 0 &&
      run(APT_GET, ["install", "-y", "-q", ...missing], { inherit: true, env }).status === 0;
  }
  if (!ok) console.log(`tslab-ipc: apt-get failed; run it yourself:\n  ${line}`);
  return ok;
}

/** npm install (not npm ci) as root may run apt; see the header. */
function aptAllowedByNpm() {
  return process.env.npm_command === "install";
}

// ---- Jupyter ---------------------------------------------------------------------------------

/** How to call Jupyter's kernelspec tool: [command, ...leading args], or null. */
function findKernelspecTool() {
  const tool = [PYTHON, "-I", "-m", "jupyter_client.kernelspecapp"];
  if (!fs.existsSync(PYTHON)) return null;
  return run(tool[0], [...tool.slice(1), "--version"]).status === 0 ? tool : null;
}

/**
 * The kernel.json to register: our template with absolute paths. kernel/start.sh runs
 * kernel/main.js with this Node, from the user's start-up snapshot when there is one.
 */
function kernelSpec() {
  const template = JSON.parse(fs.readFileSync(path.join(kernelDir, "kernel.json"), "utf8"));
  const spec = {
    ...template,
    argv: ["/bin/sh", path.join(kernelDir, "start.sh"), process.execPath, "{connection_file}"],
  };
  delete spec.metadata;
  return spec;
}

/**
 * Why a system-wide kernel must not run code from `root`, or null when it may: every folder
 * from "/" down to the checkout, and every file and folder of what the kernel loads (kernel/,
 * dist/, node_modules/, package.json), must belong to root or to us and be writable by nobody
 * else (a sticky folder above the checkout, such as /tmp, is fine: others cannot rename in it).
 * OpenSSH's StrictModes, applied to the code a kernel runs for every user.
 * @param {string} root
 */
function unsafeForAllUsers(root = repoRoot) {
  const trusted = (/** @type {fs.Stats} */ st) => st.uid === 0 || st.uid === uid;
  const real = fs.realpathSync(root);
  const ancestors = [];
  for (let d = path.dirname(real); ; d = path.dirname(d)) {
    ancestors.push(d);
    if (path.dirname(d) === d) break;
  }
  for (const d of ancestors) {
    const st = fs.lstatSync(d);
    if (!trusted(st)) return `${d} belongs to uid ${st.uid}`;
    if (st.mode & 0o022 && !(st.mode & 0o1000))
      return `${d} is writable by ${st.mode & 0o002 ? "everyone" : "its group"} (mode ${(st.mode & 0o7777).toString(8)})`;
  }
  /** @type {(p: string) => string | null} */
  const check = (p) => {
    let st;
    try {
      st = fs.lstatSync(p);
    } catch {
      return null; // not there (dist/ before the build): nothing to run from it either
    }
    if (!trusted(st)) return `${p} belongs to uid ${st.uid}`;
    if (st.isSymbolicLink()) return null; // its target is checked where it lies in the tree
    if (st.mode & 0o022)
      return `${p} is writable by ${st.mode & 0o002 ? "everyone" : "its group"} (mode ${(st.mode & 0o7777).toString(8)})`;
    if (st.isDirectory()) {
      for (const name of fs.readdirSync(p)) {
        const why = check(path.join(p, name));
        if (why) return why;
      }
    }
    return null;
  };
  const top = fs.lstatSync(real);
  if (!trusted(top)) return `${real} belongs to uid ${top.uid}`;
  if (top.mode & 0o022)
    return `${real} is writable by ${top.mode & 0o002 ? "everyone" : "its group"} (mode ${(top.mode & 0o7777).toString(8)})`;
  for (const name of ["package.json", "kernel", "dist", "node_modules"]) {
    const why = check(path.join(real, name));
    if (why) return why;
  }
  return null;
}

/** @param {string[]} tool @param {boolean} user */
function install(tool, user) {
  const staging = fs.mkdtempSync(path.join(os.tmpdir(), "tslab-ipc-kernelspec-"));
  try {
    fs.writeFileSync(path.join(staging, "kernel.json"), JSON.stringify(kernelSpec(), null, 2) + "\n", { mode: 0o644 });
    // Jupyter copies the folder with its mode: mkdtemp's 0700 would hide a system-wide kernel
    // from every user but root.
    fs.chmodSync(staging, 0o755);
    const args = [...tool.slice(1), "install", "--replace", "--name", KERNEL_NAME];
    if (user) args.push("--user");
    args.push(staging);
    const r = run(tool[0], args);
    if (r.status !== 0) throw new Error(`jupyter kernelspec install failed: ${r.stderr || r.stdout}`);
    const where = (r.stderr + r.stdout).match(/Installed kernelspec \S+ in (\S+)/);
    console.log(
      `tslab-ipc: registered the "TypeScript (IPC)" kernel (${KERNEL_NAME})${where ? " in " + where[1] : ""}`,
    );
    // The first kernel start of this user (of every user, for a system-wide kernel: the
    // machine's blob) is then as quick as the others.
    require("./snapshot").buildInBackground(process.env, !user);
  } finally {
    fs.rmSync(staging, { recursive: true, force: true });
  }
}

/** @param {string[]} tool */
function uninstall(tool) {
  const r = run(tool[0], [...tool.slice(1), "uninstall", "-y", KERNEL_NAME]);
  const text = r.stderr + r.stdout;
  if (r.status !== 0 && !/No such kernel|Couldn't find kernel spec/i.test(text)) {
    throw new Error(`jupyter kernelspec uninstall failed: ${text}`);
  }
  console.log(`tslab-ipc: ${r.status === 0 ? "removed" : "there was no"} kernel ${KERNEL_NAME}`);
}

const USAGE = "usage: node kernel/install.js [install|uninstall|system-packages] [--user|--sys] [--soft] [--apt]";

/**
 * The command line, read strictly (Node's util.parseArgs): a misspelt option (`--usr`) is refused
 * by name, where it was ignored and, as root, the kernel registered system-wide.
 */
function readArgs(/** @type {string[]} */ args) {
  const { values, positionals } = parseArgs({
    args,
    options: {
      user: { type: "boolean" },
      sys: { type: "boolean" },
      soft: { type: "boolean" },
      apt: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
    allowPositionals: true,
    strict: true,
  });
  if (positionals.length > 1) throw new Error(`one action at most, got ${positionals.join(" ")}`);
  return { action: positionals[0] ?? "install", ...values };
}

function main() {
  const raw = process.argv.slice(2);
  /** @type {ReturnType<typeof readArgs>} */
  let args;
  try {
    args = readArgs(raw);
  } catch (e) {
    console.error(`tslab-ipc: ${e instanceof Error ? e.message : e}\n${USAGE}`);
    if (!raw.includes("--soft")) process.exitCode = 1;
    return;
  }
  if (args.help) {
    console.log(USAGE);
    return;
  }
  const { action } = args;
  const soft = args.soft === true;
  const explicitSys = args.sys === true;
  let user = args.user === true || (!explicitSys && !isRoot);
  try {
    if (action === "system-packages") {
      if (!systemPackages(args.apt === true)) process.exitCode = 1;
      else if (fs.existsSync(DPKG_QUERY))
        console.log(
          `tslab-ipc: every Debian package of ${path.relative(process.cwd(), PACKAGE_LIST) || PACKAGE_LIST} is installed`,
        );
    } else if (action === "install") {
      systemPackages(aptAllowedByNpm());
      if (process.env.TSLAB_IPC_SKIP_KERNEL === "1") {
        console.log("tslab-ipc: TSLAB_IPC_SKIP_KERNEL=1, not registering the kernel");
        return;
      }
      if (!user) {
        const why = unsafeForAllUsers();
        if (why) {
          const message = `refusing to register a system-wide kernel that runs code others can change: ${why}`;
          if (explicitSys) throw new Error(message);
          console.log(`tslab-ipc: ${message}; registering it for ${os.userInfo().username} only`);
          user = true;
        }
      }
      const tool = findKernelspecTool();
      if (!tool) {
        console.log(
          `tslab-ipc: no Jupyter in ${PYTHON}; install the packages above, then run \`npm run kernel:install\``,
        );
        if (!soft) process.exitCode = 1;
        return;
      }
      install(tool, user);
    } else if (action === "uninstall") {
      const tool = findKernelspecTool();
      if (!tool) {
        console.log("tslab-ipc: no Jupyter found, nothing to unregister");
        return;
      }
      uninstall(tool);
    } else {
      throw new Error(`unknown action ${action}: use install, uninstall or system-packages`);
    }
  } catch (e) {
    console.error(`tslab-ipc: ${e instanceof Error ? e.message : e}`);
    if (!soft) process.exitCode = 1;
  }
}

if (require.main === module) main();
module.exports = { KERNEL_NAME, kernelSpec, findKernelspecTool, listedPackages, missingPackages, unsafeForAllUsers };
