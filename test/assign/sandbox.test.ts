// The grading sandbox on a shared server. A grader who is not root (an instructor's account)
// grades each submission in namespaces of its own, made through user namespaces, and the
// submission runs there as the grader: its own uid, no capability, so the kernel checks modes
// as it does for the student. Where no namespace is allowed, grade.py's before/after listing
// counts only the objects this user created, never another user's that appeared meanwhile.
import { spawnSync } from "child_process";
import fs from "fs";
import path from "path";
import { IPC_CREAT, IPC_PRIVATE, IPC_RMID, shmctl, shmget } from "../../src";
import {
  AS_NOBODY,
  graderNamespacesUnavailable,
  nobodyIds,
  nobodyUnavailable,
  nobodyUserNamespacesUnavailable,
  repoRoot,
  segmentExists,
  tempDir,
} from "../helpers";

const PY = "/usr/bin/python3";
const built = fs.existsSync(path.join(repoRoot, "dist", "assign", "sandbox.js"));
const asUserSkip = nobodyUnavailable() ?? (built ? null : "dist/ is not built (npm run build)");
const userNamespaceSkip = asUserSkip ?? nobodyUserNamespacesUnavailable();
const nobody = nobodyIds();

(userNamespaceSkip ? test.skip : test)(
  `a grader who is not root: the submission runs as the grader, with no capability, in an IPC namespace of its own${userNamespaceSkip ? ` [skipped: ${userNamespaceSkip}]` : ""}`,
  () => {
    const work = tempDir("tslab-ipc-sandbox-user-");
    fs.chmodSync(work, 0o777);
    // In the sandbox: who it is, its effective capabilities, and the segments it can see once
    // it made one.
    const inside =
      'id -u; grep CapEff /proc/self/status | cut -f2; ipcmk -M 4096 -p 0600 | grep -o "[0-9]*$"; tail -n +2 /proc/sysvipc/shm | wc -l';
    const code = `const m = require(${JSON.stringify(path.join(repoRoot, "dist", "assign", "sandbox.js"))});
      const s = m.chooseSandbox();
      const argv = [...s.prefix({ writable: [${JSON.stringify(work)}], readable: [], hidden: [] }, m.DEFAULT_LIMITS), "sh", "-c", ${JSON.stringify(inside)}];
      const r = require("child_process").spawnSync(argv[0], argv.slice(1), { encoding: "utf8" });
      console.log(JSON.stringify({ kind: s.kind, user: s.user, status: r.status, stderr: r.stderr, lines: r.stdout.trim().split("\\n") }));`;
    // A segment in the machine's namespace, which the sandbox must not list.
    const outside = shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0o644);
    const r = spawnSync("setpriv", [...AS_NOBODY, process.execPath, "-e", code], {
      encoding: "utf8",
      cwd: work,
      env: { ...process.env, HOME: work, TMPDIR: work },
    });
    shmctl(outside, IPC_RMID);
    expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: "" });
    const got = JSON.parse(r.stdout.trim().split("\n").pop()!);
    expect(got).toMatchObject({ kind: "namespace", user: null, status: 0, stderr: "" });
    const [uid, capEff, shmid, count] = got.lines;
    expect(Number(uid)).toBe(nobody.uid);
    expect(capEff).toBe("0000000000000000");
    expect(shmid).toMatch(/^\d+$/);
    // Its own segment only, not the one outside.
    expect(count).toBe("1");
  },
  60_000,
);

(asUserSkip ? test.skip : test)(
  `grade.py's listing of what a submission made holds only this user's objects${asUserSkip ? ` [skipped: ${asUserSkip}]` : ""}`,
  () => {
    const mine = shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0o600);
    const other = spawnSync("setpriv", [...AS_NOBODY, "ipcmk", "-M", "4096", "-p", "0600"], { encoding: "utf8" });
    const theirs = Number(/(\d+)\s*$/.exec(other.stdout.trim())?.[1] ?? -1);
    const theirName = path.join("/dev/shm", `tslab-ipc-theirs-${process.pid}`);
    try {
      expect(theirs).toBeGreaterThanOrEqual(0);
      fs.writeFileSync(theirName, "");
      fs.chownSync(theirName, nobody.uid, nobody.gid);
      const r = spawnSync(
        PY,
        [
          "-c",
          `import json, sys; sys.path.insert(0, ${JSON.stringify(path.join(repoRoot, "src", "assign"))}); import grade; print(json.dumps(sorted(grade.ipc_objects())))`,
        ],
        { encoding: "utf8" },
      );
      expect({ status: r.status, stderr: r.status === 0 ? "" : r.stderr }).toEqual({ status: 0, stderr: "" });
      const listed: string[] = JSON.parse(r.stdout.trim().split("\n").pop()!);
      expect(listed).toContain(`shm ${mine}`);
      expect(listed).not.toContain(`shm ${theirs}`);
      expect(listed).not.toContain(theirName);
    } finally {
      shmctl(mine, IPC_RMID);
      if (theirs >= 0 && segmentExists(theirs)) shmctl(theirs, IPC_RMID);
      fs.rmSync(theirName, { force: true });
    }
  },
  60_000,
);

const namespaceSkip = (built ? null : "dist/ is not built (npm run build)") ?? graderNamespacesUnavailable();

/** Runs `sh -c script "sh" ...args` in the grader's sandbox for `view`, with `limits` over the defaults. */
function inSandbox(
  view: { writable: string[]; readable?: string[]; hidden?: string[] },
  limits: Record<string, number>,
  script: string,
  ...args: string[]
) {
  const m = require(path.join(repoRoot, "dist", "assign", "sandbox.js"));
  const full = { readable: [], hidden: [], ...view };
  const argv = [
    ...m.chooseSandbox().prefix(full, { ...m.DEFAULT_LIMITS, ...limits }),
    "sh",
    "-c",
    script,
    "sh",
    ...args,
  ];
  return spawnSync(argv[0], argv.slice(1), { encoding: "utf8" });
}

(namespaceSkip ? test.skip : test)(
  `the sandbox hides exactly the paths it is given, whatever characters they hold${namespaceSkip ? ` [skipped: ${namespaceSkip}]` : ""}`,
  () => {
    // Outside /tmp (a private tmpfs in the sandbox): a folder whose name is a glob pattern, and
    // one that the pattern matches. Only the first may be hidden.
    const base = fs.mkdtempSync(path.join("/var/tmp", "tslab-ipc-view-"));
    try {
      fs.chmodSync(base, 0o755);
      const hidden = path.join(base, "os [2026]");
      const decoy = path.join(base, "os 2");
      const run = path.join(base, "run");
      for (const [dir, file] of [
        [hidden, "alice.ipynb"],
        [decoy, "bob.ipynb"],
      ]) {
        fs.mkdirSync(dir, { mode: 0o755 });
        fs.writeFileSync(path.join(dir, file), "{}");
        fs.chmodSync(path.join(dir, file), 0o644);
      }
      fs.mkdirSync(run, { mode: 0o777 });
      fs.chmodSync(run, 0o777);
      const r = inSandbox(
        { writable: [run], hidden: [hidden] },
        {},
        'ls -A "$1"; echo --; ls -A "$2"; echo --; touch "$3/mine" && echo wrote',
        hidden,
        decoy,
        run,
      );
      expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: "" });
      expect(r.stdout.split("--\n").map((part) => part.trim())).toEqual(["", "bob.ipynb", "wrote"]);
    } finally {
      fs.rmSync(base, { recursive: true, force: true });
    }
  },
  60_000,
);

(namespaceSkip ? test.skip : test)(
  `what a submission writes in its run folder stays in the sandbox's memory, within the limit, and never reaches the grader's disk${namespaceSkip ? ` [skipped: ${namespaceSkip}]` : ""}`,
  () => {
    // Outside /tmp, on the disk as a grader's work folder is. RLIMIT_FSIZE caps one file; without
    // a cap on the folder, a loop over file names filled the grader's disk (1.2 GB in 6 files).
    const run = fs.mkdtempSync(path.join("/var/tmp", "tslab-ipc-run-"));
    try {
      fs.chmodSync(run, 0o777);
      fs.writeFileSync(path.join(run, "given"), "x".repeat(1 << 20));
      fs.chmodSync(path.join(run, "given"), 0o644);
      // What the grader put there, then two files of 3 MiB: room for one.
      const r = inSandbox(
        { writable: [run] },
        { tmpfsBytes: 4 << 20 },
        'wc -c < "$1/given"; for f in a b; do head -c 3145728 /dev/zero > "$1/$f" && echo "$f written" || echo "$f refused"; done',
        run,
      );
      expect(r.status).toBe(0);
      expect(r.stdout.trim().split("\n")).toEqual(["1048576", "a written", "b refused"]);
      expect(r.stderr).toMatch(/No space left on device/);
      expect(fs.readdirSync(run)).toEqual(["given"]);
      expect(fs.statSync(path.join(run, "given")).size).toBe(1 << 20);
    } finally {
      fs.rmSync(run, { recursive: true, force: true });
    }
  },
  60_000,
);

(namespaceSkip ? test.skip : test)(
  `memory no rlimit holds: System V segments capped in all, and the sandbox's processes the first an out-of-memory kill takes${namespaceSkip ? ` [skipped: ${namespaceSkip}]` : ""}`,
  () => {
    // A segment is in no process's RLIMIT_DATA (4 GiB of them were made and touched under a
    // limit of 2 GiB); shared memory is in no rlimit at all, so in a machine out of memory the
    // kernel must take the submission's processes, not the grader holding more than any of them.
    const run = tempDir("tslab-ipc-shm-");
    try {
      fs.chmodSync(run, 0o777);
      // 6 MiB (fits), 6 MiB more (over 8 in all), 9 MiB (over 8 in one).
      const r = inSandbox(
        { writable: [run] },
        { sharedMemoryBytes: 8 << 20 },
        "cat /proc/self/oom_score_adj; for s in 6291456 6291456 9437184; do ipcmk -M $s >/dev/null 2>&1 && echo made || echo refused; done",
      );
      expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: "" });
      expect(r.stdout.trim().split("\n")).toEqual(["1000", "made", "refused", "refused"]);
    } finally {
      fs.rmSync(run, { recursive: true, force: true });
    }
  },
  60_000,
);
