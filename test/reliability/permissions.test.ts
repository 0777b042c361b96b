// On a shared lab machine, modes keep users apart: what one user creates with 0600 another user
// cannot attach (a clear EACCES); with 0644 the other user can attach read-only and gets EACCES
// for read-write. For System V segments, POSIX shm objects and mapped files. The other user is
// `nobody`, through setpriv (we run as root here and in CI).
import { spawnSync } from "child_process";
import fs from "fs";
import path from "path";
import { IPC_CREAT, IPC_RMID, IPC_PRIVATE, PosixShm, shmat, shmctl, shmget } from "../../src";
import { AS_NOBODY, distIndex, nobodyUnavailable, segmentExists, tempDir, uniqueName } from "../helpers";

function canSwitchUser(): string | null {
  const reason = nobodyUnavailable();
  if (reason) return reason;
  const r = spawnSync("setpriv", [...AS_NOBODY, process.execPath, "-e", `require(${JSON.stringify(distIndex)})`]);
  if (r.status !== 0) return `setpriv cannot run the library as nobody: ${String(r.stderr).trim().slice(0, 200)}`;
  return null;
}
const skipReason = canSwitchUser();
const maybe = skipReason ? test.skip : test;
if (skipReason) console.log(`permissions tests skipped: ${skipReason}`);

/** Runs `body` as nobody with `ipc` bound to the library; returns what it printed as JSON. */
function asNobody(body: string, env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const code = `const ipc = require(${JSON.stringify(distIndex)}); const out = {};
    const attempt = (name, f) => { try { const v = f(); out[name] = "ok" + (v === undefined ? "" : ":" + v); }
      catch (e) { out[name] = (e instanceof ipc.IpcError ? "IpcError " : e.constructor.name + " ") + e.code + " " + e.message; } };
    ${body}
    console.log(JSON.stringify({ uid: process.getuid(), ...out }));`;
  const r = spawnSync("setpriv", [...AS_NOBODY, process.execPath, "-e", code], {
    encoding: "utf8",
    cwd: "/tmp",
    env,
  });
  if (r.status !== 0) throw new Error(`child as nobody failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split("\n").pop()!);
}

const eacces = expect.stringMatching(/^IpcError EACCES EACCES: permission denied/);

maybe("System V: 0600 cannot be attached by another user; 0644 attaches read-only only", () => {
  const private600 = shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0o600);
  const shared644 = shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0o644);
  try {
    const a = shmat(shared644);
    a.writeString("root's data");
    a.detach();
    const got = asNobody(`
      attempt("rw600", () => ipc.shmat(${private600}));
      attempt("ro600", () => ipc.shmat(${private600}, null, ipc.SHM_RDONLY));
      attempt("ro644", () => ipc.shmat(${shared644}, null, ipc.SHM_RDONLY).readString());
      attempt("rw644", () => ipc.shmat(${shared644}));
      attempt("rmid644", () => ipc.shmctl(${shared644}, ipc.IPC_RMID));
    `);
    expect(got).toEqual({
      uid: 65534,
      rw600: expect.stringMatching(/^IpcError EACCES EACCES: permission denied, shmat shmid \d+/),
      ro600: eacces,
      ro644: "ok:root's data",
      rw644: eacces,
      rmid644: expect.stringMatching(/^IpcError EPERM EPERM: operation not permitted, shmctl/),
    });
  } finally {
    shmctl(private600, IPC_RMID);
    shmctl(shared644, IPC_RMID);
  }
});

maybe("POSIX shm: 0600 cannot be opened by another user; 0644 opens and maps read-only only", () => {
  const n600 = "/" + uniqueName("tslab-perm600");
  const n644 = "/" + uniqueName("tslab-perm644");
  const p600 = PosixShm.create(n600, 4096);
  const p644 = PosixShm.create(n644, 4096, { mode: 0o644 });
  try {
    const m = p644.map();
    m.writeString("root's object");
    m.unmap();
    const got = asNobody(`
      attempt("ro600", () => ipc.shm_open(${JSON.stringify(n600)}, ipc.O_RDONLY));
      attempt("ro644", () => ipc.PosixShm.open(${JSON.stringify(n644)}, { readonly: true }).map().readString());
      attempt("rw644", () => ipc.shm_open(${JSON.stringify(n644)}, ipc.O_RDWR));
      attempt("unlink644", () => ipc.shm_unlink(${JSON.stringify(n644)}));
    `);
    expect(got).toEqual({
      uid: 65534,
      ro600: expect.stringMatching(new RegExp(`^IpcError EACCES EACCES: permission denied, shm_open '${n600}'`)),
      ro644: "ok:root's object",
      rw644: eacces,
      // /dev/shm is sticky: only the owner may remove the name.
      unlink644: expect.stringMatching(/^IpcError E(ACCES|PERM) /),
    });
    expect(fs.existsSync("/dev/shm" + n644)).toBe(true);
  } finally {
    p600[Symbol.dispose]();
    p644[Symbol.dispose]();
  }
});

maybe("mapped files: 0600 cannot be mapped by another user; 0644 maps read-only only", () => {
  const dir = tempDir();
  fs.chmodSync(dir, 0o755);
  const f600 = path.join(dir, "private.bin");
  const f644 = path.join(dir, "shared.bin");
  fs.writeFileSync(f600, Buffer.alloc(4096, 0x41), { mode: 0o600 });
  fs.writeFileSync(f644, Buffer.concat([Buffer.from("root's file\0"), Buffer.alloc(4084)]), { mode: 0o644 });
  fs.chmodSync(f644, 0o644);
  try {
    const got = asNobody(`
      attempt("ro600", () => ipc.mapFile(${JSON.stringify(f600)}, { writable: false }));
      attempt("ro644", () => ipc.mapFile(${JSON.stringify(f644)}, { writable: false }).readString());
      attempt("rw644", () => ipc.mapFile(${JSON.stringify(f644)}));
    `);
    expect(got).toEqual({
      uid: 65534,
      ro600: expect.stringMatching(new RegExp(`^IpcError EACCES EACCES: permission denied, open '${f600}'`)),
      ro644: "ok:root's file",
      rw644: eacces,
    });
    expect(fs.readFileSync(f644).subarray(0, 11).toString()).toBe("root's file");
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

// A mode without owner read (0o000, 0o200) makes IPC_STAT EACCES even for the segment's creator,
// though IPC_RMID still works for them: the removal at exit and reap() used to check ownership
// through IPC_STAT alone, so every such segment a student made outlived their kernel (found by
// the fuzzer run as an unprivileged user, 5 December). Root is never barred, so only another
// user shows it.
maybe("System V: a segment whose mode bars its creator's reading is still removed at exit and by reap()", () => {
  const records = tempDir();
  fs.chownSync(records, 65534, 65534);
  fs.chmodSync(records, 0o700);
  const env = { ...process.env, TSLAB_IPC_RECORDS: records };
  const made: number[] = [];
  try {
    const exited = asNobody(
      `const a = ipc.shmget(ipc.IPC_PRIVATE, 4096, ipc.IPC_CREAT | 0o000);
      const b = ipc.shmget(ipc.IPC_PRIVATE, 4096, ipc.IPC_CREAT | 0o200);
      out.ids = a + " " + b;
      attempt("stat", () => ipc.shmctl(a, ipc.IPC_STAT));`,
      env,
    );
    made.push(...exited.ids.split(" ").map(Number));
    expect(exited.stat).toEqual(expect.stringMatching(/^IpcError EACCES /));
    for (const id of made) expect(segmentExists(id)).toBe(false);

    // Killed before it could clean up: the journal names the segment, and reap() removes it.
    const killed = spawnSync(
      "setpriv",
      [
        ...AS_NOBODY,
        process.execPath,
        "-e",
        `const ipc = require(${JSON.stringify(distIndex)});
        console.log(ipc.shmget(ipc.IPC_PRIVATE, 4096, ipc.IPC_CREAT | 0o000));
        process.kill(process.pid, "SIGKILL");`,
      ],
      { encoding: "utf8", cwd: "/tmp", env },
    );
    expect(killed.signal).toBe("SIGKILL");
    const orphan = Number(killed.stdout.trim());
    made.push(orphan);
    expect(segmentExists(orphan)).toBe(true);
    const reaped = asNobody(`attempt("reap", () => ipc.reap().removed.map((c) => c.id).join(" "));`, env);
    expect(reaped.reap).toBe(`ok:${orphan}`);
    expect(segmentExists(orphan)).toBe(false);
  } finally {
    for (const id of made) if (segmentExists(id)) shmctl(id, IPC_RMID);
    fs.rmSync(records, { recursive: true, force: true });
  }
});
