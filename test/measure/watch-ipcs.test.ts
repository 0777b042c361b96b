// watchIpcs: one output, updated in place (same display_id, update=true) only when something
// changed; segments appearing, attaching, marked, removed; it stops when the cell ends.
import { spawnSync } from "child_process";
import {
  IPC_CREAT,
  IPC_PRIVATE,
  IPC_RMID,
  PosixShm,
  SharedSegment,
  cellEnded,
  setDisplayPublisher,
  shmctl,
  shmget,
  watchIpcs,
} from "../../src";
import { distIndex, ownerName, uniqueName } from "../helpers";

interface Sent {
  text: string;
  id: string | undefined;
  update: boolean;
}

function capture(): Sent[] {
  const sent: Sent[] = [];
  setDisplayPublisher((out, update) => {
    sent.push({ text: String(out.data["text/plain"]), id: out.transient?.display_id, update });
  });
  return sent;
}

afterEach(() => setDisplayPublisher(undefined));

test("appears, attaches, is marked, detaches and goes: each change one update of the same display", () => {
  const sent = capture();
  const own = (r: { creator: number | null; keyOrName: string }) =>
    r.creator === process.pid || r.keyOrName.includes("tslab-watch");
  const w = watchIpcs({ intervalMs: 60_000, filter: own });
  let seg: SharedSegment | undefined;
  try {
    expect(sent).toHaveLength(1);
    expect(sent[0].update).toBe(false);
    expect(sent[0].id).toBe(w.displayId);
    w.refresh();
    expect(sent).toHaveLength(1); // nothing changed: nothing sent
    seg = SharedSegment.create({ size: 4096 });
    w.refresh();
    const a = seg.attach();
    w.refresh();
    shmctl(seg.id, IPC_RMID);
    w.refresh();
    a.detach();
    w.refresh();
    const events = w.events.map((e) => e.what);
    expect(events).toEqual([
      `segment ${seg.id} (key 0x00000000) appeared (created by pid ${process.pid}), 4096 bytes`,
      `segment ${seg.id} (key 0x00000000): nattch 0 → 1 (attached)`,
      `segment ${seg.id} (key 0x00000000) marked for removal (IPC_RMID; it goes at the last detach)`,
      `segment ${seg.id} (key 0x00000000) removed`,
    ]);
    expect(sent).toHaveLength(5);
    expect(sent.slice(1).every((s) => s.update && s.id === w.displayId)).toBe(true);
    expect(sent[2].text).toMatch(
      new RegExp(`System V\\s+0x00000000\\s+${seg.id}\\s+\\S+\\s+0600\\s+4096\\s+1\\s+${process.pid}\\s+yes\\s+no`),
    );
  } finally {
    w.stop();
    seg?.[Symbol.dispose]();
  }
});

test("the cell's end stops it with a final update; later changes send nothing", () => {
  const sent = capture();
  const w = watchIpcs({ intervalMs: 60_000, posix: true, filter: (r) => r.keyOrName.includes("tslab-watch") });
  const name = "/" + uniqueName("tslab-watch");
  const shm = PosixShm.create(name, 8192);
  try {
    cellEnded();
    expect(w.running).toBe(false);
    const last = sent[sent.length - 1];
    expect(last.update).toBe(true);
    expect(last.text).toMatch(/^ipcs \(stopped after \d+\.\d s\): 1 object/);
    expect(last.text).toMatch(new RegExp(`^POSIX\\s+${name}\\s+—\\s+${ownerName()}\\s+0600\\s+8192`, "m"));
    const count = sent.length;
    w.refresh();
    w.stop();
    expect(sent).toHaveLength(count);
  } finally {
    shm.close();
    shm.unlink();
  }
});

test("a kernel that never calls cellEnded(): the next cell's publisher ends it; acrossCells keeps watching", () => {
  capture();
  const w = watchIpcs({ intervalMs: 60_000 });
  const kept = watchIpcs({ intervalMs: 60_000, acrossCells: true });
  capture(); // the next cell
  expect(w.running).toBe(false);
  expect(kept.running).toBe(true);
  kept.stop();
  expect(kept.running).toBe(false);
});

test("a segment whose creator died shows 'creator alive: no'", () => {
  const sent = capture();
  const key = 0x7e000000 | (process.pid & 0xffff);
  const w = watchIpcs({ intervalMs: 60_000, filter: (r) => r.keyOrName === "0x" + key.toString(16) });
  let id = -1;
  try {
    // The child dies by SIGKILL, so the library's exit cleanup does not remove its segment.
    const child = spawnSync(
      process.execPath,
      [
        "-e",
        `const ipc = require(${JSON.stringify(distIndex)}); console.log(ipc.shmget(${key}, 4096, ipc.IPC_CREAT | 0o600)); process.kill(process.pid, "SIGKILL");`,
      ],
      { encoding: "utf8" },
    );
    id = Number(child.stdout.trim());
    w.refresh();
    expect(w.rows).toHaveLength(1);
    expect(w.rows[0]).toMatchObject({ shmid: id, creatorAlive: false, dest: false, nattch: 0 });
    expect(sent[sent.length - 1].text).toMatch(/\s+no\s+no$/m);
  } finally {
    w.stop();
    if (id >= 0) shmctl(id, IPC_RMID);
  }
  expect(shmget).toBeDefined();
  expect(IPC_CREAT | IPC_PRIVATE).toBe(IPC_CREAT);
});

test("bad options are errors before anything is shown", () => {
  const sent = capture();
  expect(() => watchIpcs({ intervalMs: 1 })).toThrow(RangeError);
  expect(() => watchIpcs({ filter: 3 as never })).toThrow(TypeError);
  expect(() => watchIpcs("x" as never)).toThrow(TypeError);
  expect(sent).toHaveLength(0);
});
