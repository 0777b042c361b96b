// Interoperability: the slides' shmdemo.c (compiled here), Python's sysv_ipc and
// multiprocessing.shared_memory see the same kernel objects, keys and bytes as the library.
import { execFileSync, spawnSync } from "child_process";
import fs from "fs";
import path from "path";
import { IPC_CREAT, IPC_RMID, PosixShm, SharedSegment, ftok, shmat, shmctl, shmget } from "../../src";
import { compileC, needs, pythonWith, repoRoot, segmentExists, tempDir, uniqueName } from "../helpers";

const py = pythonWith("sysv_ipc");
const pyShm = pythonWith("multiprocessing.shared_memory");

/** A working folder with its own shmdemo.c, so the ftok key is unique to this run. */
function demoDir(): { dir: string; key: number; cleanup: () => void } {
  const dir = tempDir("tslab-ipc-shmdemo-");
  fs.copyFileSync(path.join(repoRoot, "test", "c", "shmdemo.c"), path.join(dir, "shmdemo.c"));
  const key = ftok(path.join(dir, "shmdemo.c"), "R");
  return {
    dir,
    key,
    cleanup: () => {
      try {
        const id = shmget(key, 0, 0);
        shmctl(id, IPC_RMID);
      } catch {
        /* not created */
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

const describeC = needs("cc").describe;

describeC("the slides' shmdemo.c", () => {
  let binary = "";
  beforeAll(() => {
    binary = compileC(path.join(repoRoot, "test", "c", "shmdemo.c"));
  });

  test("C writes, the library reads the same bytes with the same ftok key", () => {
    const d = demoDir();
    try {
      const out = execFileSync(binary, ["hello from C"], { cwd: d.dir, encoding: "utf8" });
      expect(out).toBe('writing to segment: "hello from C"\n');
      const seg = SharedSegment.open(path.join(d.dir, "shmdemo.c"), "R");
      expect(seg.key).toBe(d.key);
      const stat = seg.stat();
      expect(stat).toMatchObject({ size: 1024, mode: 0o644, nattch: 0 });
      const data = seg.attach({ readonly: true });
      expect(data.readString()).toBe("hello from C");
      // Byte-exact: strncpy pads the rest of the 1024 bytes with NULs.
      const expected = Buffer.alloc(1024);
      expected.write("hello from C");
      expect(Buffer.from(data.buffer)).toEqual(expected);
      data.detach();
    } finally {
      d.cleanup();
    }
  });

  test("the library writes, C reads it back", () => {
    const d = demoDir();
    try {
      const id = shmget(d.key, 1024, 0o644 | IPC_CREAT);
      const data = shmat(id, null, 0);
      data.writeString("Writing to shared memory");
      data.detach();
      const out = execFileSync(binary, [], { cwd: d.dir, encoding: "utf8" });
      expect(out).toBe('segment contains: "Writing to shared memory"\n');
      expect(shmctl(id, 2).lpid).not.toBe(process.pid); // the C process attached last
    } finally {
      d.cleanup();
    }
  });
});

const describePy = needs("sysv_ipc").describe;

describePy("Python sysv_ipc", () => {
  test("same ftok key; Python writes, the library reads; the library writes, Python reads", () => {
    const d = demoDir();
    const file = path.join(d.dir, "shmdemo.c");
    try {
      const seg = SharedSegment.create({ path: file, projId: "R", size: 4096, mode: 0o600 });
      const a = seg.attach();
      a.writeString("from TypeScript");
      const script = `
import sysv_ipc, sys
key = sysv_ipc.ftok(sys.argv[1], ord('R'), silence_warning=True)
m = sysv_ipc.SharedMemory(key)
print(key)
print(m.read(15).decode())
m.write(b"from Python\\0", 100)
m.detach()
`;
      const r = spawnSync(py!, ["-c", script, file], { encoding: "utf8" });
      expect(r.stderr).toBe("");
      const [pyKey, text] = r.stdout.trim().split("\n");
      expect(Number(pyKey)).toBe(d.key);
      expect(text).toBe("from TypeScript");
      expect(a.readString(100)).toBe("from Python");
      a.detach();
      seg[Symbol.dispose]();
      expect(segmentExists(seg.id)).toBe(false);
    } finally {
      d.cleanup();
    }
  });
});

const describePyShm = pyShm ? describe : describe.skip;
describePyShm("Python multiprocessing.shared_memory (POSIX shm)", () => {
  test("an object made by the library is read and written by Python under the same name", () => {
    const name = "/" + uniqueName("tslab-py");
    const shm = PosixShm.create(name, 4096);
    const m = shm.map();
    try {
      m.writeString("posix from TS");
      const script = `
from multiprocessing import shared_memory, resource_tracker
import sys
s = shared_memory.SharedMemory(name=sys.argv[1][1:])
resource_tracker.unregister(s._name, "shared_memory")  # not Python's to unlink
print(bytes(s.buf[:13]).decode())
s.buf[200:210] = b"python ok\\0"
s.close()
`;
      const r = spawnSync(pyShm!, ["-c", script, name], { encoding: "utf8" });
      expect(r.stderr).toBe("");
      expect(r.stdout.trim()).toBe("posix from TS");
      expect(m.readString(200)).toBe("python ok");
    } finally {
      m.unmap();
      shm[Symbol.dispose]();
    }
    expect(fs.existsSync("/dev/shm" + name)).toBe(false);
  });
});
