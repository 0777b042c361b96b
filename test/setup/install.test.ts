// The install hook (kernel/install.js), which npm runs as root during `npm install`: one list
// of Debian packages; apt only for `npm install` as root, never for `npm ci`; Python isolated,
// tools by absolute path, a minimal environment, "/" as the working folder; and no system-wide
// kernel that runs code from a checkout others can write.
import { spawnSync } from "child_process";
import fs from "fs";
import path from "path";
import { pythonWith, repoRoot, tempDir } from "../helpers";

// eslint-disable-next-line @typescript-eslint/no-var-requires
const installer = require("../../kernel/install.js");
const INSTALL_JS = path.join(repoRoot, "kernel", "install.js");
const isRoot = process.getuid?.() === 0;
const jupyter = pythonWith("jupyter_client");

/** A copy of the files the installer needs, as a checkout of its own (no package list). */
function fakeCheckout(dir: string): string {
  const root = path.join(dir, "checkout");
  fs.mkdirSync(path.join(root, "kernel"), { recursive: true, mode: 0o755 });
  for (const f of ["install.js", "kernel.json", "main.js", "start.sh", "snapshot.js", "stamp.js"])
    fs.copyFileSync(path.join(repoRoot, "kernel", f), path.join(root, "kernel", f));
  fs.writeFileSync(path.join(root, "package.json"), "{}\n");
  fs.chmodSync(root, 0o755);
  return root;
}

function runInstaller(script: string, args: string[], env: NodeJS.ProcessEnv, cwd = "/") {
  const clean: NodeJS.ProcessEnv = { ...process.env, npm_command: "", TSLAB_IPC_SKIP_KERNEL: "", ...env };
  return spawnSync(process.execPath, [script, ...args], { cwd, env: clean, encoding: "utf8", timeout: 60_000 });
}

test("one list: .ci/system-packages.txt names the tools the tests use, and both installers read it", () => {
  const packages: string[] = installer.listedPackages();
  for (const p of [
    "gcc",
    "chromium",
    "python3-sysv-ipc",
    "strace",
    "util-linux",
    "jupyter-notebook",
    "python3-jupyter-kernel-test",
  ])
    expect(packages).toContain(p);
  expect(fs.readFileSync(path.join(repoRoot, ".ci", "setup-system"), "utf8")).toMatch(
    /kernel\/install\.js system-packages --apt/,
  );
  // No second list: neither installer names a package itself.
  for (const f of [".ci/setup-system", "kernel/install.js"]) {
    const text = fs.readFileSync(path.join(repoRoot, f), "utf8");
    expect({
      f,
      named: ["jupyter-notebook", "python3-nbclient", "python3-sysv-ipc"].filter((p) => text.includes(p)),
    }).toEqual({ f, named: [] });
  }
  if (fs.existsSync("/usr/bin/dpkg-query"))
    expect(installer.missingPackages(["util-linux", "tslab-ipc-no-such-package"])).toEqual([
      "tslab-ipc-no-such-package",
    ]);
});

test("npm ci never runs apt: a missing package is the single apt-get line to run", () => {
  const dir = tempDir("tslab-ipc-install-");
  try {
    const root = fakeCheckout(dir);
    fs.mkdirSync(path.join(root, ".ci"));
    fs.writeFileSync(
      path.join(root, ".ci", "system-packages.txt"),
      "# test\nutil-linux  present\ntslab-ipc-no-such-package   missing\n",
    );
    const r = runInstaller(path.join(root, "kernel", "install.js"), ["install", "--soft", "--user"], {
      npm_command: "ci",
      TSLAB_IPC_SKIP_KERNEL: "1",
    });
    expect(r.status).toBe(0);
    if (!fs.existsSync("/usr/bin/dpkg-query")) return expect(r.stdout).toMatch(/not a Debian system/);
    expect(r.stdout).toContain("Run as root:\n  apt-get install -y tslab-ipc-no-such-package\n");
    expect(r.stdout).not.toMatch(/installing Debian packages/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("a planted jupyter.py (working folder, PYTHONPATH) and planted tools on PATH never run", () => {
  const dir = tempDir("tslab-ipc-planted-");
  try {
    const marker = path.join(dir, "PWNED");
    const payload = `open(${JSON.stringify(marker)}, "a").write(__name__ + "\\n")\n`;
    fs.writeFileSync(path.join(dir, "jupyter.py"), payload);
    fs.mkdirSync(path.join(dir, "jupyter_client"));
    fs.writeFileSync(path.join(dir, "jupyter_client", "__init__.py"), payload);
    fs.writeFileSync(path.join(dir, "jupyter_client", "kernelspecapp.py"), payload);
    fs.mkdirSync(path.join(dir, "bin"));
    for (const tool of ["python3", "jupyter", "apt-get", "dpkg-query", "jupyter-kernelspec"]) {
      fs.writeFileSync(path.join(dir, "bin", tool), `#!/bin/sh\necho ${tool} >> ${marker}\n`, { mode: 0o755 });
    }
    const data = path.join(dir, "data");
    const r = runInstaller(
      INSTALL_JS,
      ["install", "--user"],
      {
        PATH: `${path.join(dir, "bin")}:${process.env.PATH}`,
        PYTHONPATH: dir,
        JUPYTER_DATA_DIR: data,
      },
      dir,
    );
    expect(fs.existsSync(marker) ? fs.readFileSync(marker, "utf8") : "nothing ran").toBe("nothing ran");
    if (jupyter) {
      expect(r.status).toBe(0);
      const spec = path.join(data, "kernels", "tslab-ipc");
      expect(JSON.parse(fs.readFileSync(path.join(spec, "kernel.json"), "utf8")).argv[1]).toBe(
        path.join(repoRoot, "kernel", "start.sh"),
      );
      // Readable by every user (a system-wide kernel must be): not mkdtemp's 0700.
      expect((fs.statSync(spec).mode & 0o777).toString(8)).toBe("755");
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("a misspelt option is refused by name and registers nothing; --help prints the usage", () => {
  const dir = tempDir("tslab-ipc-install-args-");
  try {
    const data = path.join(dir, "data");
    // As root, `--usr` was ignored and the kernel went system-wide, the --user it meant undone.
    const typo = runInstaller(INSTALL_JS, ["install", "--usr"], { JUPYTER_DATA_DIR: data });
    expect({ status: typo.status, stderr: typo.stderr }).toEqual({
      status: 1,
      stderr: expect.stringMatching(/^tslab-ipc: Unknown option '--usr'.*\nusage: node kernel\/install\.js /s),
    });
    // npm's prepare hook (--soft) never fails, but still says so.
    const soft = runInstaller(INSTALL_JS, ["install", "--usr", "--soft"], { JUPYTER_DATA_DIR: data });
    expect({ status: soft.status, stderr: soft.stderr }).toEqual({
      status: 0,
      stderr: expect.stringContaining("Unknown option '--usr'"),
    });
    const help = runInstaller(INSTALL_JS, ["--help"], { JUPYTER_DATA_DIR: data });
    expect({ status: help.status, stdout: help.stdout }).toEqual({
      status: 0,
      stdout: expect.stringMatching(/^usage: node kernel\/install\.js \[install\|uninstall\|system-packages\]/),
    });
    expect(fs.existsSync(data)).toBe(false);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

describe("a system-wide kernel from a checkout others can write is refused", () => {
  test.each([
    ["everyone", 0o777],
    ["its group", 0o775],
  ])("a folder of the kernel writable by %s", (who, mode) => {
    const dir = tempDir("tslab-ipc-refuse-");
    try {
      const root = fakeCheckout(dir);
      expect(installer.unsafeForAllUsers(root)).toBeNull();
      fs.chmodSync(path.join(root, "kernel"), mode);
      expect(installer.unsafeForAllUsers(root)).toBe(
        `${fs.realpathSync(root)}/kernel is writable by ${who} (mode ${mode.toString(8)})`,
      );
      const r = runInstaller(path.join(root, "kernel", "install.js"), ["install", "--sys"], {
        JUPYTER_DATA_DIR: path.join(dir, "data"),
      });
      expect(r.status).toBe(1);
      expect(r.stderr).toContain(
        `tslab-ipc: refusing to register a system-wide kernel that runs code others can change: ${fs.realpathSync(root)}/kernel is writable by ${who}`,
      );
      expect(r.stdout).not.toMatch(/registered/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  (isRoot ? test : test.skip)(
    `a checkout owned by another user; as root without --sys it registers for root only${isRoot ? "" : " [skipped: needs root]"}`,
    () => {
      const dir = tempDir("tslab-ipc-refuse-");
      try {
        const root = fakeCheckout(dir);
        fs.chownSync(path.join(root, "kernel", "main.js"), 65534, 65534);
        expect(installer.unsafeForAllUsers(root)).toBe(`${fs.realpathSync(root)}/kernel/main.js belongs to uid 65534`);
        const data = path.join(dir, "data");
        const r = runInstaller(path.join(root, "kernel", "install.js"), ["install"], { JUPYTER_DATA_DIR: data });
        expect(r.stdout).toContain("refusing to register a system-wide kernel that runs code others can change");
        expect(r.stdout).toContain("registering it for root only");
        if (jupyter) expect(fs.existsSync(path.join(data, "kernels", "tslab-ipc", "kernel.json"))).toBe(true);
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    },
  );
});
