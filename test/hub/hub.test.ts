// The course hub (deploy/): four students at once through the REST API and the kernel websocket,
// each in an IPC world of their own, one more running a fork bomb and asking for 20 GiB; then
// the fallback without namespaces, where the hub reaps what a student's account owns. The
// driver is deploy/load-test.js (the bench runs it with 20 students); it starts a private hub
// (dummy auth, a state dir under /var/tmp, a free port on 127.0.0.1) and removes it, the test
// accounts and their cgroups included, whatever happens; a hub that fails to bind its port is
// started again, and the proxy it left is stopped.
import { spawn, spawnSync } from "child_process";
import fs from "fs";
import os from "os";
import path from "path";
import { commandOf, processesIn, repoRoot } from "../helpers";

const driver = path.join(repoRoot, "deploy", "load-test.js");

/** Why the hub cannot run here, or null. */
function unavailable(): string | null {
  if (process.getuid?.() !== 0) return "needs root (one Unix account per student)";
  if (spawnSync("sh", ["-c", "command -v jupyterhub jupyterhub-singleuser"]).status !== 0)
    return "no jupyterhub: apt-get install jupyterhub";
  if (!fs.existsSync(path.join(repoRoot, "node_modules", ".bin", "configurable-http-proxy")))
    return "no configurable-http-proxy: npm install";
  if (spawnSync("sh", ["-c", "command -v unshare setpriv useradd"]).status !== 0)
    return "no unshare/setpriv/useradd: apt-get install util-linux passwd";
  return null;
}

const why = unavailable();
if (why) console.warn(`hub tests skipped: ${why}`);
const maybe = why ? test.skip : test;

/** Whether this machine gives a process its own IPC namespace and /dev/shm (a container build may not). */
const namespaces =
  !why &&
  spawnSync("unshare", [
    "--ipc",
    "--mount",
    "--propagation",
    "private",
    "sh",
    "-c",
    "mount -t tmpfs -o size=1m t /dev/shm",
  ]).status === 0;
if (!why && !namespaces)
  console.warn("hub namespace test skipped: unshare --ipc --mount is refused here (the fallback test still runs)");
const withNamespaces = namespaces ? maybe : test.skip;

/** Runs the driver to its end; its report. */
function loadTest(args: string[]): Promise<any> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [driver, "--quiet", ...args], {
      cwd: repoRoot,
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.on("error", reject);
    child.on("close", () => {
      try {
        resolve(JSON.parse(out));
      } catch {
        reject(new Error(`no report from the load test: ${out.slice(0, 2000)}`));
      }
    });
  });
}

withNamespaces(
  "four students at once: correct runs, one IPC world each, limits hold, nothing left after stop",
  async () => {
    const r = await loadTest(["--students", "4", "--core", "--rounds", "2000", "--limits"]);
    expect({ errors: r.errors, failures: r.failures }).toEqual({ errors: [], failures: [] });
    expect(r.locked).toEqual(Array(4).fill({ count: 8000, expected: 8000 }));
    // Every student made the same key and the same POSIX name, and sees exactly their own.
    expect(r.separateNamespaces).toBe(true);
    // Each student's notebook 02 is the student version: no solution, no hidden test, the stubs.
    expect(r.handouts).toEqual(Array(4).fill({ solutions: 0, hiddenTests: 0, stubs: 3 }));
    for (const view of r.views) {
      // The checkout's folders that hold the solutions are empty where a student looks (ENOENT:
      // this checkout has none).
      expect(view.checkout.notebooks).toBe(0);
      expect(Object.entries(view.checkout).filter(([, seen]) => seen !== 0 && seen !== "ENOENT")).toEqual([]);
      expect(view.hubDb).toBe("EACCES");
      expect(view.keys).toEqual(["0x7e57c0de"]);
      expect(view.owners).toEqual([view.user]);
      expect(view.devShm).toEqual(["tslab-ipc-hub-same"]);
    }
    // The fork bomb and the 20 GiB segment failed in their own world; the others went on.
    expect(r.limits.segment20GiB).toMatch(/^IpcError: EINVAL: invalid argument, shmget/);
    expect(r.limits.forkBomb).toMatch(/fork: .*Resource temporarily unavailable/);
    expect(r.hubAlive).toBe(true);
    // The limits each world had: the namespace's shmmax and /dev/shm, and the cgroup's (here v1 or v2).
    expect(r.limitsSeen).toMatchObject({ shmmax: String(2 ** 30), devShmBytes: 2 ** 30 });
    if (r.limitsSeen.memoryBytes)
      expect(r.limitsSeen).toMatchObject({ memoryBytes: 2 * 2 ** 30, tasks: "512", cpus: 1 });
    // After stop: no process, no segment, no /dev/shm file, no process in their namespaces.
    expect(r.leftAfterStop).toEqual([]);
    expect(r.ok).toBe(true);
    console.log(
      `hub: 4 students ready in ${r.allReadyMs} ms; ${r.cells} cells, p50 ${r.cellLatencyMs.p50} ms, p95 ${r.cellLatencyMs.p95} ms; ` +
        `peak memory per student ${r.memoryPerStudentMiB.join(", ")} MiB; stop ${r.stopMs} ms`,
    );
  },
  420_000,
);

maybe(
  "without namespaces the hub reaps what the student's account owns when the server stops",
  async () => {
    const r = await loadTest(["--students", "1", "--no-notebooks", "--no-namespaces"]);
    expect({ errors: r.errors, failures: r.failures }).toEqual({ errors: [], failures: [] });
    expect(r.separateNamespaces).toBe(false);
    expect(r.handouts).toEqual([{ solutions: 0, hiddenTests: 0, stubs: 3 }]);
    expect(r.hubLog).toMatch(/NO IPC namespace per student: disabled by configuration/);
    // Without a world of their own, only modes keep students out of the checkout's solutions: the
    // hub says so when they do not.
    if (fs.statSync(path.join(repoRoot, "notebooks")).mode & 0o005) {
      expect(r.views[0].checkout.notebooks).toBeGreaterThan(0);
      expect(r.hubLog).toMatch(/students can read the checkout's notebooks.*chmod o-rwx/);
    }
    // The kernel made a segment and a /dev/shm file with persist: only the hub's reaping removes them.
    expect(r.views[0].keys).toContain("0x7e57c0de");
    expect(r.views[0].hubDb).toBe("EACCES");
    expect(r.leftAfterStop).toEqual([]);
    expect(r.ok).toBe(true);
  },
  180_000,
);

/**
 * Runs the load test against a stand-in for JupyterHub (fixtures/failing-hub; `taken` says which
 * of its ports was taken, "none" for a hub that never answers) with TMPDIR a fresh folder, and
 * sends Ctrl-C (SIGINT to its process group, as a terminal does) `interruptMs` after the first
 * hub started, if given. What it printed, the state folders of the hubs it started, and the
 * commands of the processes left with its TMPDIR (killed after).
 */
async function withStandInHub(taken: "hub" | "public" | "none", interruptMs?: number) {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "tslab-ipc-failing-hub-"));
  const starts = path.join(tmp, "starts");
  const states = () => (fs.existsSync(starts) ? fs.readFileSync(starts, "utf8").trim().split("\n") : []);
  try {
    const child = spawn(process.execPath, [driver, "--quiet", "--students", "1", "--no-notebooks"], {
      cwd: repoRoot,
      detached: true,
      stdio: ["ignore", "ignore", "pipe"],
      env: {
        ...process.env,
        PATH: `${path.join(__dirname, "fixtures", "failing-hub")}:${process.env.PATH}`,
        TMPDIR: tmp,
        TSLAB_IPC_TEST_HUB_STARTS: starts,
        TSLAB_IPC_TEST_HUB_TAKEN: taken,
      },
    });
    let stderr = "";
    child.stderr!.on("data", (d) => (stderr += d));
    const closed = new Promise<void>((resolve) => child.on("close", () => resolve()));
    if (interruptMs !== undefined) {
      while (states().length === 0) await new Promise((r) => setTimeout(r, 50));
      await new Promise((r) => setTimeout(r, interruptMs));
      process.kill(-child.pid!, "SIGINT");
    }
    await closed;
    const left = processesIn(tmp).map((pid) => commandOf(pid));
    return { status: child.exitCode, stderr, states: states(), left };
  } finally {
    for (const pid of processesIn(tmp)) process.kill(pid, "SIGKILL");
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

const asRoot = process.getuid?.() === 0 ? test : test.skip;

asRoot.each(["hub", "public"] as const)(
  "a hub whose %s port was taken is started again, and its proxy does not outlive it",
  async (taken) => {
    // When a port chosen for JupyterHub 3.0 was taken before it was bound, its proxy (in a
    // session of its own) is left running when the hub exits (its own port), or runs on
    // unreachable, and the hub with it (the public port).
    const r = await withStandInHub(taken);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/the hub did not start[\s\S]*address already in use/i);
    expect(r.states).toHaveLength(3);
    expect(r.left).toEqual([]);
    for (const state of r.states) expect(fs.existsSync(state)).toBe(false);
  },
  150_000,
);

asRoot(
  "Ctrl-C while the hub starts stops it and its proxy, and removes its state",
  async () => {
    const r = await withStandInHub("none", 1000);
    expect(r.states).toHaveLength(1);
    expect(r.left).toEqual([]);
    expect(fs.existsSync(r.states[0])).toBe(false);
  },
  150_000,
);
