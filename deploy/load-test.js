#!/usr/bin/env node
// @ts-check
// A course's first minutes, at once: N students log in through the hub's REST API, start their
// servers, and each runs notebook 02's walk-through and notebook 08's locked counter through the
// kernel websocket, concurrently. Checks every result, that each student's ipcs() shows only their
// own segments (the same key and the same POSIX name in every world, no collision), and that after
// the servers stop nothing of theirs is left: no process, no segment in `ipcs -m`, no /dev/shm
// file, no process in their IPC namespace. Optionally one more student runs a fork bomb and asks
// for a 20 GiB segment meanwhile. Prints one JSON report.
//
//   node deploy/load-test.js [--students N] [--rounds R] [--limits] [--no-namespaces] [--hub URL --token T]
//
// --no-namespaces runs the hub's fallback (TSLAB_IPC_HUB_NAMESPACES=0): no world per student,
// the hub reaps what each account owns when its server stops. --no-notebooks runs only the
// isolation cell; --core runs only notebook 02's first part (one process), as `npm test` does.
//
// Without --hub it starts a private hub (dummy auth, its own state dir under /var/tmp, a free port
// on 127.0.0.1) and removes all of it afterwards, accounts and cgroups included, even on failure.
// Needs root for the accounts and the namespaces, and Node's WebSocket (Node 20: re-executes
// itself with --experimental-websocket).

const { spawn, spawnSync, execFileSync } = require("child_process");
const crypto = require("crypto");
const fs = require("fs");
const net = require("net");
const path = require("path");

if (typeof globalThis.WebSocket !== "function" && !process.execArgv.includes("--experimental-websocket")) {
  const r = spawnSync(
    process.execPath,
    ["--experimental-websocket", ...process.execArgv, __filename, ...process.argv.slice(2)],
    { stdio: "inherit" },
  );
  process.exit(r.status ?? 1);
}

const REPO = path.resolve(__dirname, "..");
const NOTEBOOK_02 = "02-system-v-shared-memory.ipynb";
const NOTEBOOK_08 = "08-mutual-exclusion.ipynb";
const SAME_KEY = 0x7e57c0de; // every student creates this key: one segment per world
const SAME_NAME = "/tslab-ipc-hub-same";
/** The checkout's folders that hold the course's solutions (isolated_spawner.py SOLUTION_FOLDERS). */
const SOLUTION_FOLDERS = ["notebooks", "out", "test", ".git"];

/** @param {string[]} argv */
function parseArgs(argv) {
  /** @type {{students: number, rounds: number, limits: boolean, namespaces: boolean, notebooks: boolean, core: boolean, hub: string | null, token: string | null, quiet: boolean}} */
  const o = {
    students: 4,
    rounds: 50_000,
    limits: false,
    namespaces: true,
    notebooks: true,
    core: false,
    hub: null,
    token: null,
    quiet: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--students") o.students = Number(argv[++i]);
    else if (a === "--rounds") o.rounds = Number(argv[++i]);
    else if (a === "--limits") o.limits = true;
    else if (a === "--no-namespaces") o.namespaces = false;
    else if (a === "--no-notebooks") o.notebooks = false;
    else if (a === "--core") o.core = true;
    else if (a === "--hub") o.hub = argv[++i];
    else if (a === "--token") o.token = argv[++i];
    else if (a === "--quiet") o.quiet = true;
    else throw new Error(`unknown argument ${a}`);
  }
  return o;
}

const sleep = (/** @type {number} */ ms) => new Promise((r) => setTimeout(r, ms));
let quiet = false;
const say = (/** @type {string} */ text) => quiet || process.stderr.write(`[hub-load] ${text}\n`);

/** A cell's source as one text (nbformat allows a list of lines). @param {{source: string | string[]}} cell */
const sourceText = (cell) => [cell.source].flat().join("");

/** The code cells of a notebook: source and tags. @param {string} name */
function codeCells(name) {
  const nb = JSON.parse(fs.readFileSync(path.join(REPO, "notebooks", name), "utf8"));
  return nb.cells
    .map((/** @type {any} */ c, /** @type {number} */ index) => ({
      index,
      source: sourceText(c),
      tags: c.metadata?.tags ?? [],
      type: c.cell_type,
    }))
    .filter((/** @type {any} */ c) => c.type === "code");
}

/**
 * Notebook 02's walk-through (everything up to the exercises) and its cleanup cell; with `core`,
 * only its first part (ftok, shmget, shmat, write, shmdt, the read after detach: everything
 * before a second process joins) and a cleanup of that part.
 * @param {boolean} core
 */
function walkThrough02(core) {
  const cells = codeCells(NOTEBOOK_02);
  if (core) {
    const secondProcess = cells.findIndex((c) => c.source.includes("async function runShmdemo"));
    const cleanup = {
      index: -1,
      tags: [],
      source: "shmctl(shmid, IPC_RMID); fs.rmSync(dir, { recursive: true, force: true }); ipcs().length",
    };
    return [...cells.slice(0, secondProcess), cleanup];
  }
  const firstExercise = cells.findIndex((c) => c.tags.includes("solution"));
  return [...cells.slice(0, firstExercise), cells[cells.length - 1]];
}

/** Notebook 08's locked counter: the definitions, the locked race and its check. @param {number} rounds */
function lockedCounter08(rounds) {
  const cells = codeCells(NOTEBOOK_08);
  const upTo = cells.findIndex((c) => c.source.includes('race(workerTs, "lock", 4)'));
  const picked = [
    ...cells.slice(0, upTo).filter((c) => !/await race\([^)]*"nolock"/.test(c.source)),
    cells[upTo],
    COUNTER_CELL,
  ];
  return picked.map((c) => ({ ...c, source: c.source.replace(/const ROUNDS = [\d_]+;/, `const ROUNDS = ${rounds};`) }));
}

/** The locked counter's result, read after notebook 08's race (its own output is prose). */
const COUNTER_CELL = {
  index: -1,
  tags: [],
  source: "console.log(JSON.stringify({ count: locked.count, expected: locked.expected }))",
};

/**
 * What each student runs after the notebooks: their view of the IPC world, of the checkout's
 * folders with the solutions, and of the hub's database `hubDb` (null: not known here).
 * @param {string | null} hubDb
 */
const isolationCell = (hubDb) => `
{
  // persist: nothing in the kernel removes these; only the end of the world (or the hub's reaping) does.
  const id = shmget(${SAME_KEY}, 4096, IPC_CREAT | IPC_EXCL | 0o600, { persist: true });
  const a = shmat(id); a.writeString(process.env.USER ?? "?"); shmdt(a);
  const fd = shm_open(${JSON.stringify(SAME_NAME)}, O_CREAT | O_EXCL | O_RDWR, 0o600, { persist: true });
  require("fs").closeSync(fd);
  const view = { keys: ipcs().map((e) => e.keyHex), owners: [...new Set(ipcs().map((e) => e.owner))],
                 devShm: require("fs").readdirSync("/dev/shm"), user: process.env.USER, pid: process.pid,
                 shmmax: require("fs").readFileSync("/proc/sys/kernel/shmmax", "utf8").trim(),
                 devShmBytes: (({ bsize, blocks }) => bsize * blocks)(require("fs").statfsSync("/dev/shm")),
                 // What the student sees of the checkout's folders that hold the solutions.
                 checkout: Object.fromEntries(${JSON.stringify(SOLUTION_FOLDERS)}.map((d) => {
                   try { return [d, require("fs").readdirSync(${JSON.stringify(REPO)} + "/" + d).length]; }
                   catch (e) { return [d, e.code]; } })),
                 // The hub's database (users, servers, OAuth clients): the hub's alone.
                 hubDb: ${JSON.stringify(hubDb)} && (() => { try { require("fs").readFileSync(${JSON.stringify(hubDb)}); return "read"; }
                                               catch (e) { return e.code; } })() };
  console.log(JSON.stringify(view));
}`;

// --- the hub's REST API -------------------------------------------------------------------------

/** @param {string} base @param {string} token @param {string} method @param {string} route @param {any} [body] */
async function api(base, token, method, route, body) {
  const res = await fetch(base + route, {
    method,
    headers: { ...(token ? { Authorization: `token ${token}` } : {}), "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${route}: ${res.status} ${text.slice(0, 300)}`);
  return text ? JSON.parse(text) : null;
}

// --- one kernel over its websocket -------------------------------------------------------------

/** How long a kernel's websocket is tried before the student counts as failed. */
const CONNECT_MS = 60_000;

class KernelSocket {
  /** @param {string} url */
  constructor(url) {
    this.ws = new WebSocket(url);
    this.session = crypto.randomUUID();
    /** @type {Map<string, {outputs: any[], reply: any, idle: boolean, resolve: (v: any) => void}>} */
    this.pending = new Map();
    this.opened = new Promise((resolve, reject) => {
      this.ws.addEventListener("open", resolve);
      this.ws.addEventListener("error", (e) =>
        reject(new Error(`websocket ${url}: ${/** @type {any} */ (e).message ?? "error"}`)),
      );
      this.ws.addEventListener("close", () => reject(new Error(`websocket ${url}: closed`)));
    });
    this.opened.catch(() => {}); // a close after a failed connect is not a second failure
    this.ws.addEventListener("message", (event) => this.receive(JSON.parse(String(event.data))));
    this.closed = false;
    this.ws.addEventListener("close", () => {
      this.closed = true;
      for (const p of this.pending.values())
        p.resolve({ outputs: p.outputs, reply: { status: "error", ename: "WebSocketClosed" }, closed: true });
      this.pending.clear();
    });
  }

  /** @param {any} msg */
  receive(msg) {
    const p = this.pending.get(msg.parent_header?.msg_id);
    if (!p) return;
    if (msg.channel === "shell") p.reply = msg.content;
    else if (msg.channel === "iopub") {
      if (msg.msg_type === "status" && msg.content.execution_state === "idle") p.idle = true;
      else if (["stream", "error", "execute_result", "display_data"].includes(msg.msg_type))
        p.outputs.push({ type: msg.msg_type, ...msg.content });
    }
    if (p.reply && p.idle) {
      this.pending.delete(msg.parent_header.msg_id);
      p.resolve({ outputs: p.outputs, reply: p.reply });
    }
  }

  /**
   * Sends a shell request; resolves with its reply and outputs once the reply and the iopub
   * `idle` for it have both arrived, or with `timedOut` after `timeoutMs`.
   * @param {string} msgType @param {any} content @param {number} [timeoutMs]
   * @returns {Promise<{outputs: any[], reply: any, timedOut?: boolean}>}
   */
  request(msgType, content, timeoutMs = 900_000) {
    const id = crypto.randomUUID();
    if (this.closed)
      return Promise.resolve({ outputs: [], reply: { status: "error", ename: "WebSocketClosed" }, closed: true });
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        const p = this.pending.get(id);
        this.pending.delete(id);
        resolve({
          outputs: p?.outputs ?? [],
          reply: p?.reply ?? { status: "error", ename: "Timeout" },
          timedOut: true,
        });
      }, timeoutMs);
      this.pending.set(id, {
        outputs: [],
        reply: null,
        idle: false,
        resolve: (v) => {
          clearTimeout(timer);
          resolve(v);
        },
      });
      this.ws.send(
        JSON.stringify({
          header: {
            msg_id: id,
            msg_type: msgType,
            session: this.session,
            username: "",
            version: "5.3",
            date: new Date().toISOString(),
          },
          parent_header: {},
          metadata: {},
          content,
          channel: "shell",
          buffers: [],
        }),
      );
    });
  }

  /**
   * Waits until the kernel answers on shell and iopub both: a websocket that connects while the
   * kernel is still starting can miss the first iopub messages (jupyter_client's wait_for_ready
   * does the same).
   */
  async ready() {
    for (let attempt = 0; attempt < 120 && !this.closed; attempt++) {
      const r = await this.request("kernel_info_request", {}, 5_000);
      if (!r.timedOut && !(/** @type {any} */ (r).closed)) return;
    }
    throw new Error(
      this.closed
        ? "the websocket closed before the kernel answered"
        : "the kernel never answered kernel_info on shell and iopub",
    );
  }

  /**
   * A connection to kernel `id` of the notebook server at `server` that answers, reconnecting as
   * a browser does: under load the server can time out while opening the channels and close the
   * websocket. Tries for a minute (a browser keeps trying longer); a last failure says what the
   * server's REST API says of the kernel, since a refused websocket does not tell its HTTP status.
   * @param {string} server @param {string} token @param {string} id
   */
  static async connect(server, token, id) {
    const url = `${server.replace(/^http/, "ws")}/api/kernels/${id}/channels?token=${token}`;
    const deadline = performance.now() + CONNECT_MS;
    for (let attempt = 1; ; attempt++) {
      const kernel = new KernelSocket(url);
      try {
        await kernel.opened;
        await kernel.ready();
        return kernel;
      } catch (e) {
        kernel.close();
        if (performance.now() > deadline) {
          const state = await kernelState(server, token, id);
          throw new Error(`${e instanceof Error ? e.message : e} (${attempt} attempts; ${state})`);
        }
        await sleep(2_000);
      }
    }
  }

  /** @param {string} code */
  execute(code) {
    return this.request("execute_request", {
      code,
      silent: false,
      store_history: true,
      user_expressions: {},
      allow_stdin: false,
      stop_on_error: true,
    });
  }

  close() {
    this.ws.close();
  }
}

/**
 * What the hub's log (the single-user servers write to it) says about the kernels an error
 * names: the lines with their ids, and the servers' lines about dying, restarting and errors
 * (a kernel that vanished leaves only these). "" when the error names no kernel.
 * @param {string} log @param {string} error
 */
function kernelLog(log, error) {
  const ids = [...new Set(error.match(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g) ?? [])];
  if (!ids.length) return "";
  const lines = log
    .split("\n")
    .filter((l) => ids.some((id) => l.includes(id)) || /died|restart|EADDRINUSE|Traceback|Error|Killed/i.test(l));
  return `\nthe hub's log on it (last ${Math.min(lines.length, 40)} of ${lines.length} lines):\n${lines.slice(-40).join("\n")}`;
}

/**
 * What the notebook server's REST API says of a kernel: its execution state, or why it cannot say.
 * @param {string} server @param {string} token @param {string} id
 */
async function kernelState(server, token, id) {
  try {
    const k = await api(server, token, "GET", `/api/kernels/${id}`);
    return `the server lists the kernel as ${k?.execution_state ?? "?"}, ${k?.connections ?? "?"} connection(s)`;
  } catch (e) {
    return `the server's API: ${e instanceof Error ? e.message : e}`;
  }
}

/** @param {{outputs: any[]}} r */
const textOf = (r) =>
  r.outputs.map((o) => o.text ?? o.data?.["text/plain"] ?? (o.ename ? `${o.ename}: ${o.evalue}` : "")).join("");

// --- the run ------------------------------------------------------------------------------------

/** Processes of a uid, from /proc. @param {number} uid */
function processesOf(uid) {
  const found = [];
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (fs.statSync(`/proc/${entry}`).uid === uid) found.push(Number(entry));
    } catch {}
  }
  return found;
}

/** @param {number} pid */
function ipcNamespace(pid) {
  try {
    return fs.readlinkSync(`/proc/${pid}/ns/ipc`);
  } catch {
    return null;
  }
}

/** Seconds since boot, as /proc/<pid>/stat counts a process's start (in ticks of 1/100 s). */
const uptimeTicks = () => Math.floor(Number(fs.readFileSync("/proc/uptime", "utf8").split(" ")[0]) * 100);

/** @param {string} pid */
function startTicks(pid) {
  try {
    return Number(fs.readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ")[19]);
  } catch {
    return Infinity;
  }
}

/**
 * Processes still in the student's IPC namespace `ns`, as "pid uid command". Namespace inode
 * numbers are reused once a namespace dies (other programs' `unshare` gets them), so a process
 * counts only if it is the student's or was started before the servers were stopped.
 * @param {string} ns @param {number} uid @param {number} stoppedAt
 */
function inNamespace(ns, uid, stoppedAt) {
  return fs
    .readdirSync("/proc")
    .filter((e) => /^\d+$/.test(e) && ipcNamespace(Number(e)) === ns)
    .filter((pid) => {
      try {
        return fs.statSync(`/proc/${pid}`).uid === uid || startTicks(pid) < stoppedAt;
      } catch {
        return false;
      }
    })
    .map((pid) => {
      try {
        return `${pid} ${fs.statSync(`/proc/${pid}`).uid} ${fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").replace(/\0/g, " ").slice(0, 80)}`;
      } catch {
        return `${pid} gone`;
      }
    });
}

/** The peak memory of a process's memory cgroup (v1 or v2), or its PSS sum. @param {number[]} pids */
function memoryOf(pids) {
  for (const pid of pids) {
    try {
      const lines = fs.readFileSync(`/proc/${pid}/cgroup`, "utf8").split("\n");
      const v1 = lines.find((l) => /^\d+:memory:/.test(l));
      if (v1)
        return {
          peakBytes: Number(
            fs.readFileSync(`/sys/fs/cgroup/memory${v1.split(":")[2]}/memory.max_usage_in_bytes`, "utf8"),
          ),
          source: "cgroup",
        };
      const v2 = lines.find((l) => l.startsWith("0::"));
      if (v2)
        return {
          peakBytes: Number(fs.readFileSync(`/sys/fs/cgroup${v2.slice(3)}/memory.peak`, "utf8")),
          source: "cgroup",
        };
    } catch {}
  }
  let pss = 0;
  for (const pid of pids) {
    try {
      const m = fs.readFileSync(`/proc/${pid}/smaps_rollup`, "utf8").match(/^Pss:\s+(\d+) kB/m);
      if (m) pss += Number(m[1]) * 1024;
    } catch {}
  }
  return { peakBytes: pss, source: "pss" };
}

/** The limits of a process's cgroups (v1 or v2): memory bytes, tasks, CPU cores. @param {number} pid */
function limitsOf(pid) {
  const read = (/** @type {string} */ file) => {
    try {
      return fs.readFileSync(file, "utf8").trim();
    } catch {
      return null;
    }
  };
  /** @type {Record<string, string>} */
  const where = {};
  try {
    for (const line of fs.readFileSync(`/proc/${pid}/cgroup`, "utf8").trim().split("\n")) {
      const [, names, p] = line.split(":");
      for (const n of names.split(",")) where[n] = p;
    }
  } catch {
    return null;
  }
  if (where.memory) {
    const quota = Number(read(`/sys/fs/cgroup/cpu${where.cpu}/cpu.cfs_quota_us`));
    const period = Number(read(`/sys/fs/cgroup/cpu${where.cpu}/cpu.cfs_period_us`));
    return {
      memoryBytes: Number(read(`/sys/fs/cgroup/memory${where.memory}/memory.limit_in_bytes`)),
      tasks: read(`/sys/fs/cgroup/pids${where.pids}/pids.max`),
      cpus: quota > 0 ? quota / period : null,
    };
  }
  const base = `/sys/fs/cgroup${where[""] ?? ""}`;
  const [quota, period] = (read(`${base}/cpu.max`) ?? "max 100000").split(" ");
  return {
    memoryBytes: Number(read(`${base}/memory.max`)),
    tasks: read(`${base}/pids.max`),
    cpus: quota === "max" ? null : Number(quota) / Number(period),
  };
}

/** Segments and /dev/shm files a uid owns on the machine (the host's world). @param {number} uid */
function leftovers(uid) {
  const rows = fs.readFileSync("/proc/sysvipc/shm", "utf8").trim().split("\n");
  const header = rows[0].trim().split(/\s+/);
  const segments = rows
    .slice(1)
    .map((r) =>
      Object.fromEntries(
        r
          .trim()
          .split(/\s+/)
          .map((v, i) => [header[i], v]),
      ),
    )
    .filter((r) => Number(r.uid) === uid)
    .map((r) => r.shmid);
  const files = fs.readdirSync("/dev/shm").filter((f) => {
    try {
      return fs.lstatSync(path.join("/dev/shm", f)).uid === uid;
    } catch {
      return false;
    }
  });
  return { segments, files };
}

/**
 * One student: log in, start the server, run the notebooks' cells, then their isolation cell.
 * @param {{base: string, admin: string, password: string, state?: string}} hub @param {string} name @param {number} rounds @param {number[]} latencies @param {boolean} [notebooks] @param {boolean} [core]
 */
async function student(hub, name, rounds, latencies, notebooks = true, core = false) {
  const t0 = performance.now();
  const { token } = await api(hub.base, "", "POST", `/hub/api/users/${name}/tokens`, {
    auth: { username: name, password: hub.password },
    note: "load test",
  });
  await api(hub.base, token, "POST", `/hub/api/users/${name}/server`);
  for (;;) {
    const u = await api(hub.base, token, "GET", `/hub/api/users/${name}`);
    if (u.servers?.[""]?.ready) break;
    if (!u.servers?.[""]) throw new Error(`${name}: the server failed to start (the hub log says why)`);
    if (performance.now() - t0 > 300_000) throw new Error(`${name}: server not ready after 300 s`);
    await sleep(200);
  }
  const readyMs = performance.now() - t0;
  const server = `${hub.base}/user/${name}`;
  const results = {
    name,
    readyMs,
    cells: 0,
    failures: /** @type {string[]} */ ([]),
    view: /** @type {any} */ (null),
    locked: /** @type {{count: number, expected: number} | null} */ (null),
    handout: handoutOf((await api(server, token, "GET", `/api/contents/notebooks/${NOTEBOOK_02}?content=1`)).content),
  };
  for (const [notebook, cells] of [
    [NOTEBOOK_02, notebooks ? walkThrough02(core) : []],
    [NOTEBOOK_08, notebooks ? lockedCounter08(rounds) : []],
  ]) {
    if (notebook === NOTEBOOK_02 && !notebooks) continue;
    const session = await api(server, token, "POST", "/api/sessions", {
      path: `notebooks/${notebook}`,
      type: "notebook",
      name: String(notebook),
      kernel: { name: "tslab-ipc" },
    });
    const kernel = await KernelSocket.connect(server, token, session.kernel.id);
    for (const cell of /** @type {any[]} */ (cells)) {
      const t = performance.now();
      const r = await kernel.execute(cell.source);
      latencies.push(performance.now() - t);
      results.cells++;
      if (r.timedOut)
        results.failures.push(`${notebook} cell ${cell.index}: no answer (reply ${r.reply.status ?? "missing"})`);
      const failed = r.reply.status !== "ok";
      if (failed !== cell.tags.includes("raises-exception")) {
        results.failures.push(`${notebook} cell ${cell.index}: ${r.reply.status} ${textOf(r).slice(0, 300)}`);
      }
      if (cell.source === COUNTER_CELL.source && r.reply.status === "ok") results.locked = JSON.parse(textOf(r));
    }
    if (notebook === NOTEBOOK_08) {
      const r = await kernel.execute(isolationCell(hub.state ? path.join(hub.state, "jupyterhub.sqlite") : null));
      if (r.reply.status !== "ok") results.failures.push(`isolation cell: ${textOf(r).slice(0, 300)}`);
      else results.view = JSON.parse(textOf(r));
    }
    kernel.close();
  }
  return results;
}

/**
 * What a student's copy of a notebook gives away: its cells that still mark a solution or hidden
 * tests (the source's), and those with the released stub instead.
 * @param {{cells: {source: string | string[]}[]}} nb
 */
function handoutOf(nb) {
  const texts = nb.cells.map(sourceText);
  const count = (/** @type {string} */ mark) => texts.filter((t) => t.includes(mark)).length;
  return {
    solutions: count("### BEGIN SOLUTION"),
    hiddenTests: count("### BEGIN HIDDEN TESTS"),
    stubs: count("// YOUR CODE HERE"),
  };
}

/**
 * The extra student who misbehaves: a fork bomb and a 20 GiB segment, both must fail in their world.
 * @param {{base: string, admin: string, password: string}} hub @param {string} name
 */
async function troublemaker(hub, name) {
  const { token } = await api(hub.base, "", "POST", `/hub/api/users/${name}/tokens`, {
    auth: { username: name, password: hub.password },
  });
  await api(hub.base, token, "POST", `/hub/api/users/${name}/server`).catch(() => {});
  for (let t = 0; !(await api(hub.base, token, "GET", `/hub/api/users/${name}`)).servers?.[""]?.ready; t++) {
    if (t > 1500) throw new Error(`${name}: server not ready`);
    await sleep(200);
  }
  const server = `${hub.base}/user/${name}`;
  const session = await api(server, token, "POST", "/api/sessions", {
    path: "notebooks/bomb.ipynb",
    type: "notebook",
    name: "bomb",
    kernel: { name: "tslab-ipc" },
  });
  const kernel = await KernelSocket.connect(server, token, session.kernel.id);
  const big = await kernel.execute("shmget(IPC_PRIVATE, 20 * 2 ** 30, IPC_CREAT | 0o600)");
  // A fork bomb that keeps forking in the background after its shell returns. Its stderr is read
  // until the timeout (the bomb holds the pipe open): 20 s, since on a loaded two-core machine 10
  // s once passed without its reaching the student's 512 tasks (CI, 2 December).
  const bomb = await kernel.execute(
    `require("child_process").spawnSync("/bin/bash", ["-c", "b() { b | b & }; b; sleep 3"], { encoding: "utf8", timeout: 20000 }).stderr.split("\\n").find((l) => /fork/.test(l)) ?? "no fork error"`,
  );
  kernel.close();
  // The bomb keeps forking in the background: stopping the server is what ends it.
  await api(hub.base, hub.admin, "DELETE", `/hub/api/users/${name}/server`);
  return { segment20GiB: textOf(big).split("\n")[0], forkBomb: textOf(bomb).trim() };
}

/** @param {number[]} xs @param {number} q */
function percentile(xs, q) {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor(q * s.length))] : NaN;
}

/** @returns {Promise<number>} */
function freePort() {
  return new Promise((resolve) => {
    const srv = net.createServer().listen(0, "127.0.0.1", () => {
      const { port } = /** @type {net.AddressInfo} */ (srv.address());
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Starts a private hub; returns it with a stop() that removes everything it made.
 * A port chosen for it (the public one here, its own and its proxy's API in its config) can be
 * taken by another process before the hub or its proxy binds it: the hub is then started again on
 * new ports (three tries in all).
 * @param {boolean} namespaces @param {number} [tries]
 */
async function startHub(namespaces, tries = 3) {
  const state = fs.mkdtempSync(path.join("/var/tmp", "tslab-ipc-hub-"));
  const tag = crypto.randomBytes(3).toString("hex");
  const admin = crypto.randomBytes(16).toString("hex");
  const password = crypto.randomBytes(12).toString("hex");
  const port = await freePort();
  const log = fs.openSync(path.join(state, "hub.log"), "a");
  const proc = spawn("jupyterhub", ["-f", path.join(REPO, "deploy", "jupyterhub_config.py")], {
    cwd: REPO,
    detached: true,
    stdio: ["ignore", log, log],
    env: {
      ...process.env,
      TSLAB_IPC_HUB_STATE: state,
      TSLAB_IPC_HUB_AUTH: "dummy",
      TSLAB_IPC_HUB_DUMMY_PASSWORD: password,
      TSLAB_IPC_HUB_ADMIN_TOKEN: admin,
      TSLAB_IPC_HUB_PORT: String(port),
      TSLAB_IPC_HUB_NAMESPACES: namespaces ? "1" : "0",
    },
  });
  fs.closeSync(log);
  const base = `http://127.0.0.1:${port}`;
  /** @type {string[]} */
  const names = [];
  const stop = async () => {
    if (proc.exitCode === null) {
      process.kill(proc.pid ?? 0, "SIGTERM");
      for (let i = 0; i < 150 && proc.exitCode === null && proc.signalCode === null; i++) await sleep(100);
      try {
        process.kill(-(proc.pid ?? 0), "SIGKILL");
      } catch {}
    }
    // JupyterHub starts the proxy in a session of its own and stops it only when it stops
    // cleanly: a hub that failed to start left it running.
    killProxy(path.join(state, "jupyterhub-proxy.pid"));
    const accounts = names.map((n) => `jupyter-${n}`);
    spawnSync("/usr/bin/python3", [path.join(REPO, "deploy", "isolated_spawner.py"), "cleanup", state, ...accounts], {
      stdio: "inherit",
    });
    if (!process.env.TSLAB_IPC_HUB_KEEP) fs.rmSync(state, { recursive: true, force: true });
  };
  stopOwnHub = stop; // a Ctrl-C while it starts stops it too
  for (let i = 0; ; i++) {
    try {
      await api(base, admin, "GET", "/hub/api/");
      break;
    } catch (e) {
      const text = fs.readFileSync(path.join(state, "hub.log"), "utf8");
      // The hub exits when its own port is taken; the proxy logs that the public one is, and runs on.
      const portTaken = /address already in use/i.test(text);
      if (proc.exitCode !== null || i > 300 || portTaken) {
        stopOwnHub = null;
        await stop();
        if (portTaken && tries > 1) {
          say("a port chosen for the hub was taken before the hub bound it: starting it again");
          return startHub(namespaces, tries - 1);
        }
        throw new Error(`the hub did not start: ${String(e)}\n${text.slice(-2000)}`);
      }
      await sleep(100);
    }
  }
  return { base, admin, password, state, tag, names, stop, logFile: path.join(state, "hub.log") };
}

/** Kills the proxy whose pid JupyterHub wrote to `pidFile`, if it still runs. @param {string} pidFile */
function killProxy(pidFile) {
  try {
    const pid = Number(fs.readFileSync(pidFile, "utf8").trim());
    // The pid is the proxy's only while that process runs the proxy (pids are reused).
    if (pid > 0 && fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("configurable-http-proxy"))
      process.kill(pid, "SIGKILL");
  } catch {
    // no pid file (no proxy started) or no such process (it ended with the hub)
  }
}

/** Stops the private hub and removes what it made (set while one runs; signals call it). @type {null | (() => Promise<void>)} */
let stopOwnHub = null;

/** @param {ReturnType<typeof parseArgs>} opts */
async function run(opts) {
  quiet = opts.quiet;
  if (typeof process.getuid === "function" && process.getuid() !== 0)
    throw new Error("the load test needs root (accounts, namespaces)");
  const own = opts.hub ? null : await startHub(opts.namespaces);
  stopOwnHub = own ? own.stop : null;
  const hub = own ?? {
    base: /** @type {string} */ (opts.hub),
    admin: /** @type {string} */ (opts.token),
    password: process.env.TSLAB_IPC_HUB_DUMMY_PASSWORD ?? "",
    tag: crypto.randomBytes(3).toString("hex"),
    names: /** @type {string[]} */ ([]),
  };
  const report = /** @type {any} */ ({ students: opts.students, rounds: opts.rounds, errors: [] });
  try {
    const names = Array.from({ length: opts.students }, (_, i) => `load${hub.tag}-${i}`);
    const bomber = opts.limits ? `bomb${hub.tag}` : null;
    hub.names.push(...names, ...(bomber ? [bomber] : []));
    await api(hub.base, hub.admin, "POST", "/hub/api/users", { usernames: hub.names });
    say(`${names.length} students${bomber ? " and one fork bomb" : ""} start`);
    /** @type {number[]} */
    const latencies = [];
    const t0 = performance.now();
    const outcomes = await Promise.allSettled([
      ...names.map((n) => student(hub, n, opts.rounds, latencies, opts.notebooks, opts.core)),
      ...(bomber ? [troublemaker(hub, bomber)] : []),
    ]);
    report.totalMs = Math.round(performance.now() - t0);
    const done = outcomes.slice(0, names.length);
    report.errors = outcomes
      .filter((o) => o.status === "rejected")
      .map((o) => String(/** @type {PromiseRejectedResult} */ (o).reason?.stack ?? o));
    const results = done
      .filter((o) => o.status === "fulfilled")
      .map((o) => /** @type {PromiseFulfilledResult<any>} */ (o).value);
    if (bomber && outcomes[names.length].status === "fulfilled")
      report.limits = /** @type {any} */ (outcomes[names.length]).value;
    report.allReadyMs = Math.round(Math.max(...results.map((r) => r.readyMs)));
    report.cells = results.reduce((n, r) => n + r.cells, 0);
    report.cellLatencyMs = {
      p50: Math.round(percentile(latencies, 0.5)),
      p95: Math.round(percentile(latencies, 0.95)),
      max: Math.round(Math.max(...latencies)),
    };
    report.failures = results.flatMap((r) => r.failures.map((/** @type {string} */ f) => `${r.name}: ${f}`));
    report.locked = results.map((r) => r.locked);
    report.views = results.map((r) => r.view);
    report.handouts = results.map((r) => r.handout);
    // Before stopping: each world's namespace and memory.
    const worlds = hub.names.map((n) => {
      const uid = Number(execFileSync("id", ["-u", `jupyter-${n}`], { encoding: "utf8" }).trim());
      const pids = processesOf(uid);
      return {
        name: n,
        uid,
        pids,
        namespaces: [...new Set(pids.map(ipcNamespace).filter((ns) => ns !== null))],
        memory: memoryOf(pids),
        limits: pids.length ? limitsOf(pids[0]) : null,
      };
    });
    report.limitsSeen = {
      ...worlds.find((w) => w.limits)?.limits,
      shmmax: report.views[0]?.shmmax,
      devShmBytes: report.views[0]?.devShmBytes,
    };
    report.memoryPerStudentMiB = worlds
      .filter((w) => w.name !== bomber)
      .map((w) => Math.round(w.memory.peakBytes / 2 ** 20));
    report.memorySource = worlds[0]?.memory.source;
    const hostNs = ipcNamespace(process.pid);
    const running = worlds.filter((w) => w.name !== bomber); // the bomber has stopped already
    report.separateNamespaces =
      new Set(running.flatMap((w) => w.namespaces)).size === running.length &&
      running.every((w) => w.namespaces.length === 1 && w.namespaces[0] !== hostNs);
    // Stop every server (as the admin), then look for anything left.
    const t1 = performance.now();
    const stoppedAt = uptimeTicks();
    await Promise.all(
      hub.names.map((n) =>
        api(hub.base, hub.admin, "DELETE", `/hub/api/users/${n}/server`).catch((e) => report.errors.push(String(e))),
      ),
    );
    for (let i = 0; i < 300; i++) {
      const users = await Promise.all(hub.names.map((n) => api(hub.base, hub.admin, "GET", `/hub/api/users/${n}`)));
      if (users.every((u) => !u.servers?.[""])) break;
      await sleep(100);
    }
    report.stopMs = Math.round(performance.now() - t1);
    // A server's last processes may still be exiting when the hub reports it stopped: give them
    // a few seconds before anything still there counts as left behind.
    for (let i = 0; i < 50 && worlds.some((w) => processesOf(w.uid).length > 0); i++) await sleep(200);
    report.leftAfterStop = worlds
      .map((w) => ({
        name: w.name,
        processes: processesOf(w.uid).length,
        // (Without namespaces of their own, the students' namespace is the hub's: nothing to check.)
        inNamespace: w.namespaces.filter((ns) => ns !== hostNs).flatMap((ns) => inNamespace(ns, w.uid, stoppedAt)),
        ...leftovers(w.uid),
      }))
      .filter((l) => l.processes || l.inNamespace.length || l.segments.length || l.files.length);
    report.hubAlive = (await api(hub.base, hub.admin, "GET", "/hub/api/")) !== null;
  } catch (e) {
    report.errors.push(String(/** @type {Error} */ (e).stack ?? e));
  } finally {
    if (own) {
      const log = fs.readFileSync(own.logFile, "utf8");
      report.hubLog = log
        .split("\n")
        .filter((l) => l.includes("tslab-ipc"))
        .join("\n");
      if (report.errors.length || report.failures?.length) report.hubLogTail = log.slice(-3000);
      report.errors = report.errors.map((/** @type {string} */ e) => e + kernelLog(log, e));
      stopOwnHub = null;
      await own.stop();
    }
  }
  report.ok =
    report.errors.length === 0 &&
    report.failures.length === 0 &&
    report.leftAfterStop?.length === 0 &&
    report.separateNamespaces === opts.namespaces;
  return report;
}

module.exports = { run };

if (require.main === module) {
  const opts = parseArgs(process.argv.slice(2));
  for (const sig of /** @type {const} */ (["SIGINT", "SIGTERM"])) {
    process.on(sig, () => {
      const stop = stopOwnHub;
      stopOwnHub = null;
      (stop ? stop() : Promise.resolve()).finally(() => process.exit(130));
    });
  }
  run(opts).then(
    (report) => {
      process.stdout.write(JSON.stringify(report, null, 2) + "\n");
      process.exitCode = report.ok ? 0 : 1;
    },
    (e) => {
      console.error(e);
      process.exitCode = 1;
    },
  );
}
