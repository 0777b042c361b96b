// What the slides say about address spaces, read from /proc: "memory is mapped into the address
// space of each sharing process", "several processes can map the same file (saves memory)",
// "dynamic loading: map executable files and shared libraries".
//
// showMaps(pidA, pidB) puts two processes side by side:
//   - every MAP_SHARED mapping both have of the same object (same device and inode: a System V
//     segment, a /dev/shm object, a file), with its virtual address in each process, and the
//     physical frame (PFN) behind its first page from /proc/<pid>/pagemap;
//   - Rss and Pss of those mappings (/proc/<pid>/smaps) and of the whole process
//     (/proc/<pid>/smaps_rollup): Pss divides each shared page among its sharers, so Pss < Rss
//     says pages are shared;
//   - the lines of the C library (the dynamic loader mapped libc.so into both).
//
// Invariants: only reads /proc (no syscall through the FFI); a PFN is a bigint or null, and null
// always comes with the reason (not root: the kernel shows PFNs as 0 to processes without
// CAP_SYS_ADMIN; page not present). Nothing here is cached: each call reads /proc afresh.
import fs from "fs";
import { fsCall } from "../errors";
import { validateBigInt64, validateInt32 } from "../validators";
import { escapeHtml, recordsTable, recordsText } from "../display/html";
import { JUPYTER_DISPLAY, type MimeBundle } from "../display/mime";

/** One line of /proc/<pid>/maps. */
export interface MapsLine {
  start: bigint;
  end: bigint;
  perms: string;
  offset: bigint;
  /** "major:minor" in hex, as the file prints it. */
  dev: string;
  inode: number;
  path: string;
  /** The line as the kernel wrote it. */
  text: string;
}

const PAGEMAP_ENTRY = 8;
const PFN_MASK = (1n << 55n) - 1n;
const PAGE_PRESENT = 1n << 63n;
const PAGE_SIZE = 4096; // pagemap indexes by the base page size on every Linux architecture we run on

/** `/proc/<pid>/<file>` for a checked pid: "self" or a positive integer. */
function procFile(pid: unknown, file: string): string {
  if (pid !== "self") validateInt32(pid, "pid", 1);
  return `/proc/${pid}/${file}`;
}

/** The text of a /proc file; a process that is gone or not ours is an IpcError (ENOENT, EACCES). */
function readProc(pid: unknown, file: string): string {
  const p = procFile(pid, file);
  return fsCall("open", { path: p }, () => fs.readFileSync(p, "utf8"));
}

/** Parses /proc/<pid>/maps (pid "self" or a number). */
export function readMaps(pid: number | "self" = "self"): MapsLine[] {
  return readProc(pid, "maps")
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((text) => {
      const m = /^([0-9a-f]+)-([0-9a-f]+)\s+(\S+)\s+([0-9a-f]+)\s+(\S+)\s+(\d+)\s*(.*)$/.exec(text);
      // The kernel's format never changes; a line that does not parse is kept as text only.
      if (!m) return { start: 0n, end: 0n, perms: "", offset: 0n, dev: "", inode: 0, path: "", text };
      return {
        start: BigInt("0x" + m[1]),
        end: BigInt("0x" + m[2]),
        perms: m[3],
        offset: BigInt("0x" + m[4]),
        dev: m[5],
        inode: Number(m[6]),
        path: m[7],
        text,
      };
    });
}

/** Rss and Pss (bytes) of a whole process, from /proc/<pid>/smaps_rollup. */
export function smapsRollup(pid: number | "self" = "self"): { rss: number; pss: number } {
  const text = readProc(pid, "smaps_rollup");
  const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(text)?.[1] ?? NaN) * 1024;
  return { rss: kb("Rss"), pss: kb("Pss") };
}

/** Rss and Pss (bytes) of the mapping that starts at `start`, from /proc/<pid>/smaps. */
export function smapsOf(pid: number | "self", start: bigint): { rss: number; pss: number } | null {
  validateBigInt64(start, "start");
  const lines = readProc(pid, "smaps").split("\n");
  const head = lines.findIndex((l) => /^[0-9a-f]+-/.test(l) && BigInt("0x" + l.slice(0, l.indexOf("-"))) === start);
  if (head < 0) return null;
  let rss = NaN;
  let pss = NaN;
  for (let i = head + 1; i < lines.length && !/^[0-9a-f]+-/.test(lines[i]); i++) {
    const m = /^(Rss|Pss):\s+(\d+) kB/.exec(lines[i]);
    if (m?.[1] === "Rss") rss = Number(m[2]) * 1024;
    if (m?.[1] === "Pss") pss = Number(m[2]) * 1024;
  }
  return { rss, pss };
}

/** The physical frame behind virtual address `address` of process `pid`, or null and why. */
export function physicalFrame(pid: number | "self", address: bigint): { pfn: bigint | null; why: string } {
  const pagemap = procFile(pid, "pagemap");
  validateBigInt64(address, "address");
  let fd: number;
  try {
    fd = fs.openSync(pagemap, "r");
  } catch (e) {
    return { pfn: null, why: `cannot open /proc/${pid}/pagemap (${(e as NodeJS.ErrnoException).code})` };
  }
  try {
    const entry = Buffer.alloc(PAGEMAP_ENTRY);
    const at = Number(address / BigInt(PAGE_SIZE)) * PAGEMAP_ENTRY;
    if (fs.readSync(fd, entry, 0, PAGEMAP_ENTRY, at) !== PAGEMAP_ENTRY)
      return { pfn: null, why: "short read of pagemap" };
    const bits = entry.readBigUInt64LE(0);
    if ((bits & PAGE_PRESENT) === 0n) return { pfn: null, why: "the page is not in memory (never touched)" };
    const pfn = bits & PFN_MASK;
    if (pfn === 0n) return { pfn: null, why: "the kernel hides PFNs from processes without CAP_SYS_ADMIN (not root)" };
    return { pfn, why: "" };
  } finally {
    fs.closeSync(fd);
  }
}

/** One object both processes have mapped MAP_SHARED. */
export interface SharedMapping {
  /** The path /proc shows: "/SYSV0000abcd (deleted)" for a System V segment, a file otherwise. */
  path: string;
  /** The segment id for a System V segment (its "inode"), else null. */
  shmid: number | null;
  addresses: [bigint, bigint];
  pfns: [bigint | null, bigint | null];
  /** Both PFNs known and equal: the same physical page. Null when they cannot be read. */
  samePhysicalPage: boolean | null;
  /** Rss and Pss of this mapping in each process (bytes). */
  usage: [{ rss: number; pss: number } | null, { rss: number; pss: number } | null];
}

const hex = (n: bigint | null) => (n === null ? "—" : "0x" + n.toString(16));

/** Two processes' address spaces compared (showMaps). Shows itself as tables in Jupyter. */
export class MapsComparison {
  constructor(
    readonly pids: [number, number],
    readonly shared: SharedMapping[],
    readonly libc: [string[], string[]],
    readonly rollup: [{ rss: number; pss: number }, { rss: number; pss: number }],
    /** Why PFNs are missing, or "" when they were read. */
    readonly pfnNote: string,
  ) {}

  private tables(): { caption: string; columns: string[]; rows: unknown[][] }[] {
    const [a, b] = this.pids;
    const kib = (n: number | undefined) => (n === undefined || Number.isNaN(n) ? "—" : `${n / 1024} KiB`);
    return [
      {
        caption: `MAP_SHARED objects mapped by both ${a} and ${b}`,
        columns: [
          "object",
          `address in ${a}`,
          `address in ${b}`,
          `PFN in ${a}`,
          `PFN in ${b}`,
          "same physical page",
          `Rss/Pss in ${a}`,
          `Rss/Pss in ${b}`,
        ],
        rows: this.shared.map((s) => [
          s.path,
          hex(s.addresses[0]),
          hex(s.addresses[1]),
          hex(s.pfns[0]),
          hex(s.pfns[1]),
          s.samePhysicalPage === null ? "unknown" : s.samePhysicalPage ? "yes" : "no",
          `${kib(s.usage[0]?.rss)} / ${kib(s.usage[0]?.pss)}`,
          `${kib(s.usage[1]?.rss)} / ${kib(s.usage[1]?.pss)}`,
        ]),
      },
      {
        caption: "the C library, mapped by the dynamic loader",
        columns: ["process", "line of /proc/<pid>/maps"],
        rows: [...this.libc[0].map((l) => [a, l]), ...this.libc[1].map((l) => [b, l])],
      },
      {
        caption: "whole process (smaps_rollup): Pss shares each page among its mappers",
        columns: ["process", "Rss", "Pss"],
        rows: this.rollup.map((r, i) => [this.pids[i], kib(r.rss), kib(r.pss)]),
      },
    ];
  }

  /** The three tables as text, and why PFNs are missing if they are. */
  toString(): string {
    const note = this.pfnNote ? `PFNs: ${this.pfnNote}\n` : "";
    return (
      this.tables()
        .map((t) => recordsText(t.caption, t.columns, t.rows))
        .join("\n\n") +
      "\n" +
      note
    );
  }

  /** The three tables as HTML (and text), for Jupyter. */
  [JUPYTER_DISPLAY](): MimeBundle {
    const note = this.pfnNote ? `<p>PFNs: ${escapeHtml(this.pfnNote)}</p>` : "";
    return {
      "text/html":
        this.tables()
          .map((t) => recordsTable(t.caption, t.columns, t.rows))
          .join("\n") + note,
      "text/plain": this.toString(),
    };
  }
}

const LIBC = /\/libc[.-][^/]*$/;

/**
 * Two processes side by side: the objects both map MAP_SHARED (same device and inode) at their
 * addresses in each, the physical page behind them, Rss/Pss, and their libc.so lines.
 *
 * @example
 *   const seg = SharedSegment.create({ size: 4096 });
 *   const child = spawnTs(`...attach seg.id, write, wait...`);
 *   showMaps(process.pid, child.pid)
 */
export function showMaps(pidA: number, pidB: number): MapsComparison {
  validateInt32(pidA, "pidA", 1);
  validateInt32(pidB, "pidB", 1);
  const [mapsA, mapsB] = [readMaps(pidA), readMaps(pidB)];
  // Anonymous shared memory has inode 0 too, but a System V segment can be shmid 0: compare paths as well.
  const sharedOf = (maps: MapsLine[]) => maps.filter((l) => l.perms[3] === "s" && l.path !== "");
  const inB = sharedOf(mapsB);
  const notes = new Set<string>();
  const shared: SharedMapping[] = [];
  for (const la of sharedOf(mapsA)) {
    const lb = inB.find(
      (l) => l.dev === la.dev && l.inode === la.inode && l.offset === la.offset && l.path === la.path,
    );
    if (!lb) continue;
    const fa = physicalFrame(pidA, la.start);
    const fb = physicalFrame(pidB, lb.start);
    for (const f of [fa, fb]) if (f.why) notes.add(f.why);
    shared.push({
      path: la.path,
      shmid: la.path.startsWith("/SYSV") ? la.inode : null,
      addresses: [la.start, lb.start],
      pfns: [fa.pfn, fb.pfn],
      samePhysicalPage: fa.pfn === null || fb.pfn === null ? null : fa.pfn === fb.pfn,
      usage: [smapsOf(pidA, la.start), smapsOf(pidB, lb.start)],
    });
  }
  const libc = (maps: MapsLine[]) => maps.filter((l) => LIBC.test(l.path)).map((l) => l.text);
  return new MapsComparison(
    [pidA, pidB],
    shared,
    [libc(mapsA), libc(mapsB)],
    [smapsRollup(pidA), smapsRollup(pidB)],
    [...notes].join("; "),
  );
}
