// Which start-up snapshot kernel/start.sh gives node, for a user other than root: their own
// (their cache folder and blob), or the machine's (root's folder and blob, writable by root
// only), whichever is newer; never one that another user could have written. The "node" here
// is a stand-in that prints its arguments, so the rule is checked without building a blob
// (test/kernel/snapshot.e2e.test.ts starts real kernels from real ones).
import { spawnSync } from "child_process";
import fs from "fs";
import os from "os";
import path from "path";

const repo = path.join(__dirname, "..", "..");
const startSh = path.join(repo, "kernel", "start.sh");
const NOBODY = 65534;
const asRoot = process.getuid?.() === 0;
const setpriv = spawnSync("setpriv", ["--version"]).status === 0;
const why = !asRoot
  ? "needs root (files of root and of another user)"
  : !setpriv
    ? "needs setpriv (util-linux)"
    : spawnSync("setpriv", [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, "--clear-groups", "--", "test", "-r", startSh])
          .status !== 0
      ? `user ${NOBODY} cannot read ${startSh}`
      : null;
const maybe = why ? test.skip : test;
if (why) console.warn(`start.sh snapshot tests skipped: ${why}`);

describe("kernel/start.sh picks the snapshot", () => {
  let dir: string;
  let fakeNode: string;
  let system: string;
  let home: string;
  let name: string;

  beforeAll(() => {
    if (why) return;
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "tslab-ipc-start-sh-"));
    fs.chmodSync(dir, 0o755);
    fakeNode = path.join(dir, "node");
    fs.writeFileSync(fakeNode, '#!/bin/sh\necho "$@"\n', { mode: 0o755 });
    const n = fs.statSync(fakeNode);
    const k = fs.statSync(path.dirname(startSh));
    name = `${n.dev}-${n.ino}-${Math.floor(n.mtimeMs / 1000)}-${n.size}+${k.dev}-${k.ino}.blob`;
    system = path.join(dir, "system");
    fs.mkdirSync(system, { mode: 0o755 });
    home = path.join(dir, "home");
    fs.mkdirSync(path.join(home, ".cache", "tslab-ipc", "snapshot"), { recursive: true, mode: 0o700 });
    spawnSync("chown", ["-R", `${NOBODY}:${NOBODY}`, home]);
  });

  afterAll(() => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  /** The arguments start.sh gave "node", run as nobody. */
  function startedWith(env: NodeJS.ProcessEnv = {}): string {
    const r = spawnSync(
      "setpriv",
      [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, "--clear-groups", "--", "sh", startSh, fakeNode, "conn.json"],
      {
        env: { PATH: "/usr/bin:/bin", HOME: home, TSLAB_IPC_SNAPSHOT_SYSTEM_DIR: system, ...env },
        encoding: "utf8",
      },
    );
    expect(r.stderr).toBe("");
    return r.stdout.trim();
  }
  const plain = () => `${path.join(path.dirname(startSh), "main.js")} conn.json`;
  const from = (blob: string) => `--snapshot-blob ${blob} ${plain()}`;
  const machine = () => path.join(system, name);
  const own = () => path.join(home, ".cache", "tslab-ipc", "snapshot", name);
  const write = (file: string, mode: number, owner: number, seconds: number) => {
    fs.writeFileSync(file, "blob");
    fs.chmodSync(file, mode);
    fs.chownSync(file, owner, owner);
    fs.utimesSync(file, seconds, seconds);
  };

  maybe("no blob: none; the machine's, root's and writable by root only: that one", () => {
    expect(startedWith()).toBe(plain());
    write(machine(), 0o644, 0, 1_700_000_000);
    expect(startedWith()).toBe(from(machine()));
    expect(startedWith({ TSLAB_IPC_SNAPSHOT: "0" })).toBe(plain());
  });

  maybe("never a machine's blob that its group or others could have written, or not root's", () => {
    write(machine(), 0o644, 0, 1_700_000_000);
    for (const [file, mode] of [
      [system, 0o775],
      [system, 0o757],
      [machine(), 0o664],
      [machine(), 0o646],
    ] as const) {
      const before = fs.statSync(file).mode & 0o7777;
      fs.chmodSync(file, mode);
      try {
        expect({ file, mode: mode.toString(8), got: startedWith() }).toEqual({
          file,
          mode: mode.toString(8),
          got: plain(),
        });
      } finally {
        fs.chmodSync(file, before);
      }
    }
    fs.chownSync(machine(), NOBODY, NOBODY);
    expect(startedWith()).toBe(plain());
    // A symbolic link, even to a file of root: the link is not the machine's file.
    fs.rmSync(machine());
    const target = path.join(dir, "elsewhere.blob");
    write(target, 0o644, 0, 1_700_000_000);
    fs.symlinkSync(target, machine());
    expect(startedWith()).toBe(plain());
    fs.rmSync(machine());
  });

  maybe("the user's own and the machine's: the newer", () => {
    write(machine(), 0o644, 0, 1_700_000_000);
    write(own(), 0o600, NOBODY, 1_600_000_000);
    expect(startedWith()).toBe(from(machine()));
    fs.utimesSync(own(), 1_800_000_000, 1_800_000_000);
    expect(startedWith()).toBe(from(own()));
    // The user's own is never one of another user's (root's here).
    fs.chownSync(own(), 0, 0);
    expect(startedWith()).toBe(from(machine()));
    fs.rmSync(own());
  });
});

describe("kernel/start.sh sets the kernel's environment", () => {
  let dir: string;
  let fakeNode: string;

  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "tslab-ipc-start-env-"));
    fakeNode = path.join(dir, "node");
    const line =
      // biome-ignore lint/suspicious/noTemplateCurlyInString: sh parameter expansions in the fake node script, expanded by sh
      'echo "${MALLOC_ARENA_MAX-unset} ${MALLOC_MMAP_THRESHOLD_-unset} ${GLIBC_TUNABLES-unset} [$TSLAB_IPC_MALLOC_DEFAULTS]"';
    fs.writeFileSync(fakeNode, `#!/bin/sh\n${line}\n`, { mode: 0o755 });
  });

  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  const run = (env: NodeJS.ProcessEnv) =>
    spawnSync("sh", [startSh, fakeNode, "conn.json"], {
      env: { PATH: "/usr/bin:/bin", HOME: dir, TSLAB_IPC_SNAPSHOT: "0", ...env },
      encoding: "utf8",
    }).stdout.trim();

  test("glibc's malloc: two arenas, a fixed 128 KiB mmap threshold and huge pages on request unless the user chose; main.js is told which it set", () => {
    expect(run({})).toBe("2 131072 glibc.malloc.hugetlb=1 [MALLOC_ARENA_MAX MALLOC_MMAP_THRESHOLD_ GLIBC_TUNABLES]");
    expect(run({ MALLOC_ARENA_MAX: "4" })).toBe(
      "4 131072 glibc.malloc.hugetlb=1 [ MALLOC_MMAP_THRESHOLD_ GLIBC_TUNABLES]",
    );
    expect(
      run({ MALLOC_ARENA_MAX: "4", MALLOC_MMAP_THRESHOLD_: "65536", GLIBC_TUNABLES: "glibc.malloc.tcache_count=0" }),
    ).toBe("4 65536 glibc.malloc.tcache_count=0 []");
  });
});
