// What the fuzzer calls: every function exported by the package root, the static and
// instance methods of its classes, each with an argument generator that mixes valid values
// (live objects of a small "world" of segments, mappings, descriptors and names) with wrong
// ones (wrong types, NaN, negative, huge, fractional, unaligned, closed or removed things).
//
// Safety rules (the fuzzer runs as root on a shared machine): System V keys, shm ids and POSIX
// names given to calls that could touch something are only ours or certainly absent; paths are
// inside the worker's own folder (its cwd) or harmless ones (/dev/null, /proc/self/status).

const fs = require("fs");
const path = require("path");
const { wildValues, callbacks, LONG } = require("./values");

/**
 * Calls that are valid but block or take long by design, or that C itself punishes; the
 * generator never makes them (the fuzzer targets arguments, not these documented hazards).
 */
const EXCLUDED = [
  "raw writes through .buffer (a PROT_READ mapping faults by design, as in C)",
  "SharedWord.wait(expected, Infinity) while the word holds `expected` (blocks forever by design)",
  "runProgram of arbitrary executables (only missing paths are given)",
  "persist: true (asks for the object to outlive the process; never generated, so leaks stay detectable)",
  "writing over a ShmLock's memory, or ShmLock.init over a lock that is held (glibc aborts or hangs, as in C): locks get regions of their own",
];

class World {
  constructor(lib, rng, dir, prefix, avoid = new Set()) {
    /** Ids of known bugs (stress/fuzz/known.js) the generator steers around. */
    this.avoid = avoid;
    this.lib = lib;
    this.rng = rng;
    this.dir = dir;
    this.prefix = prefix; // POSIX names: "/" + prefix + "-n"
    this.keyBase = (0x5a000000 | ((rng.seed32() & 0xfff) << 12)) >>> 0;
    this.counter = 0;
    this.segments = []; // SharedSegment objects (live or removed)
    this.ids = new Set(); // shm ids this worker made
    this.removedIds = [];
    this.regions = []; // Attachments and Mappings (live or detached)
    this.fds = []; // descriptors this worker opened (some closed later)
    this.closedFds = [];
    this.names = []; // POSIX names made (some unlinked later)
    this.posix = []; // PosixShm objects
    this.locks = [];
    this.lockRegions = []; // regions only ShmLock calls touch
    this.words = [];
    this.records = [];
    this.others = []; // Figures, recordings, results: things to pass back in
    this.names_ = new Map(); // object -> printable name for reproducers
    this.files = [];
    this.setupFiles();
  }

  label(obj, text) {
    if (obj && (typeof obj === "object" || typeof obj === "function")) this.names_.set(obj, text);
    return obj;
  }

  setupFiles() {
    const mk = (name, size) => {
      const p = path.join(this.dir, name);
      fs.writeFileSync(p, Buffer.alloc(size, 0x61));
      this.files.push(p);
      return p;
    };
    mk("empty.bin", 0);
    mk("small.bin", 100);
    mk("page.bin", 4096);
    mk("pages.bin", 3 * 4096 + 17);
    fs.mkdirSync(path.join(this.dir, "subdir"), { recursive: true });
    this.files.push(
      path.join(this.dir, "subdir"),
      path.join(this.dir, "missing.bin"),
      "/dev/null",
      "/proc/self/status",
      "relative.bin",
    );
    const ro = mk("readonly.bin", 8192);
    fs.chmodSync(ro, 0o444);
  }

  /** Keeps a few live objects of each kind; drops the oldest so memory stays bounded. */
  replenish() {
    const { lib, rng } = this;
    const live = (list, alive) => list.filter(alive).length;
    try {
      if (live(this.segments, (s) => !s.removed) < 3) {
        const size = rng.pick([1, 100, 4096, 8192, 65536]);
        const opts = rng.chance(0.5) ? { size, key: this.key() } : { size };
        const s = lib.SharedSegment.create(opts);
        this.label(s, `segment#${s.id}`);
        this.segments.push(s);
        this.ids.add(s.id);
      }
      if (live(this.regions, (r) => r.attached) < 6) {
        const s = this.segments.filter((x) => !x.removed).pop();
        const r = rng.int(0, 4);
        let region;
        if (r === 0 && s) region = s.attach();
        else if (r === 1 && s) region = s.attach({ readonly: true });
        else if (r === 2) region = lib.mapAnonymous(rng.pick([4096, 8192, 65536]), { shared: rng.chance(0.7) });
        else if (r === 3) {
          const file = path.join(this.dir, `map-${this.counter++}.bin`);
          region = lib.mapFile(file, { create: rng.pick([4096, 8192, 20000]) });
          this.files.push(file);
        } else {
          const p = lib.PosixShm.create(this.name(), rng.pick([4096, 8192]));
          this.label(p, `posixShm(${p.name})`);
          this.posix.push(p);
          this.names.push(p.name);
          region = p.map();
        }
        if (region) this.adopt(region);
      }
      if (this.lockRegions.length < 2) {
        // A segment of their own, never in the pools: no other attachment can write over the locks.
        let r;
        if (this.lockRegions.length === 0) r = lib.mapAnonymous(4096, { shared: true });
        else {
          this.lockSegment = lib.SharedSegment.create({ size: 4096 });
          r = this.lockSegment.attach();
        }
        if (r) this.lockRegions.push(this.label(r, `lockRegion#${this.lockRegions.length}`));
      }
      if (this.fds.length < 4) {
        const fd = fs.openSync(this.rng.pick(this.files.slice(0, 4)), "r+");
        this.fds.push(fd);
      }
    } catch {
      // A fuzzed call may have changed the world (removed a segment, shrunk a file): try again later.
    }
    this.trim();
  }

  trim() {
    // Bound the world: dispose the oldest objects.
    while (this.regions.length > 24) {
      const r = this.regions.shift();
      if (r.detach) r.detach();
      else r.unmap();
    }
    while (this.segments.length > 12) {
      const s = this.segments.shift();
      try {
        s[Symbol.dispose]();
      } catch {
        /* already gone */
      }
      this.removedIds.push(s.id);
    }
    while (this.posix.length > 8) {
      const p = this.posix.shift();
      p[Symbol.dispose]();
    }
    while (this.fds.length > 8) this.closeFd(this.fds.shift());
    for (const list of [
      this.locks,
      this.words,
      this.records,
      this.others,
      this.removedIds,
      this.closedFds,
      this.names,
    ]) {
      while (list.length > 16) list.shift();
    }
  }

  closeFd(fd) {
    try {
      fs.closeSync(fd);
    } catch {
      /* closed already */
    }
    this.closedFds.push(fd);
  }

  /** Records what a call returned, so later calls get it as an argument. */
  adopt(value) {
    const lib = this.lib;
    if (value === null || value === undefined) return;
    if (value instanceof lib.Region && this.avoid.has("buffer-over-4gib") && value.length > 2 ** 32) {
      // known "buffer-over-4gib": any later .buffer would abort; give it back at once.
      if (value.unmap) value.unmap();
      else value.detach();
      return;
    }
    if (value instanceof lib.Region) {
      this.label(value, `${value instanceof lib.Attachment ? "attachment" : "mapping"}#${this.counter++}`);
      this.regions.push(value);
    } else if (value instanceof lib.SharedSegment) {
      this.label(value, `segment#${value.id}`);
      this.segments.push(value);
      this.ids.add(value.id);
    } else if (value instanceof lib.PosixShm) {
      this.label(value, `posixShm(${value.name})`);
      this.posix.push(value);
    } else if (value instanceof lib.ShmLock) {
      this.label(value, `lock@${value.offset}`);
      this.locks.push(value);
    } else if (value instanceof lib.SharedWord) {
      this.label(value, `word@${value.offset}`);
      this.words.push(value);
    } else if (value instanceof lib.SharedRecord) {
      this.label(value, `record@${value.offset}`);
      this.records.push(value);
    } else if (typeof value === "object" && typeof value.then !== "function") {
      this.others.push(value);
    }
    this.trim();
  }

  key() {
    return (this.keyBase + (this.counter++ & 0xfff)) | 0;
  }

  name() {
    return `/${this.prefix}-${this.counter++}`;
  }

  // ---- pickers: valid most of the time, wild otherwise --------------------------------------

  wild() {
    return this.rng.pick(wildValues());
  }

  or(p, valid) {
    return this.rng.chance(p) ? valid() : this.wild();
  }

  region() {
    return this.or(0.85, () => this.rng.pick(this.regions.length ? this.regions : [null]));
  }

  liveRegion() {
    const live = this.regions.filter((r) => r.attached);
    return live.length ? this.rng.pick(live) : this.region();
  }

  /** A shm id: ours (live or removed), or one that certainly does not exist. */
  shmid() {
    const { rng } = this;
    return this.or(0.8, () => {
      const c = rng.int(0, 3);
      if (c === 0 && this.removedIds.length) return rng.pick(this.removedIds);
      if (c <= 1 && this.ids.size) return rng.pick([...this.ids]);
      return this.absentId();
    });
  }

  absentId() {
    const existing = new Set(this.lib.ipcs().map((e) => e.shmid));
    for (;;) {
      const id = this.rng.int(0, 0x7fffffff);
      if (!existing.has(id)) return id;
    }
  }

  keyArg() {
    return this.or(0.8, () => this.rng.pick([this.key(), 0 /* IPC_PRIVATE */, ...this.segments.map((s) => s.key)]));
  }

  size() {
    return this.or(0.6, () => this.rng.pick([0, 1, 100, 4096, 4097, 8192, 65536, 1 << 20]));
  }

  offset() {
    return this.or(0.7, () => this.rng.pick([0, 0, 4, 8, 12, 40, 64, 100, 4095, 4096, 8192, 65536, 1 << 30]));
  }

  int32() {
    return this.or(0.6, () => this.rng.int(-0x80000000, 0x7fffffff));
  }

  fd() {
    return this.or(0.8, () => {
      const c = this.rng.int(0, 3);
      if (c === 0 && this.closedFds.length) return this.rng.pick(this.closedFds);
      if (c === 1) return this.rng.pick([-1, 999999]);
      const open = [...this.fds, ...this.posix.map((p) => p.fd)];
      return open.length ? this.rng.pick(open) : -1;
    });
  }

  flags(known) {
    return this.or(0.7, () => {
      let f = 0;
      for (const bit of known) if (this.rng.chance(0.4)) f |= bit;
      return f;
    });
  }

  posixName() {
    const { rng } = this;
    return this.or(0.85, () => {
      const c = rng.int(0, 9);
      if (c <= 2 && this.names.length) return rng.pick(this.names); // live or unlinked
      if (c <= 4) return this.name();
      return rng.pick([
        "noslash",
        "/",
        "//",
        `/${this.prefix}/x`,
        `/${this.prefix}/../etc`,
        "/..",
        "/.",
        `/${this.prefix}..x`,
        `/${this.prefix}\0x`,
        "/" + "n".repeat(256),
        "/" + "é".repeat(128),
        `/${this.prefix}-` + "n".repeat(200),
      ]);
    });
  }

  filePath() {
    return this.or(0.85, () => this.rng.pick(this.files));
  }

  options(fields) {
    const { rng } = this;
    if (rng.chance(0.15)) return this.wild();
    const o = {};
    for (const [k, gen] of Object.entries(fields)) if (rng.chance(0.5)) o[k] = rng.chance(0.75) ? gen() : this.wild();
    return o;
  }

  bool() {
    return this.or(0.8, () => this.rng.chance(0.5));
  }

  callback() {
    return this.or(0.9, () => this.rng.pick(callbacks()));
  }

  smallCount() {
    return this.or(0.5, () => this.rng.pick([0, 1, 2, 5, 20]));
  }

  data() {
    return this.or(0.7, () =>
      this.rng.pick([
        "",
        "hello",
        "é€😀",
        "y".repeat(5000),
        LONG,
        Buffer.alloc(10, 1),
        new Uint8Array(300),
        Buffer.alloc(70000),
      ]),
    );
  }

  pick(list) {
    return list.length ? this.rng.pick(list) : this.wild();
  }

  /** The object a method is called on: always a real instance (the receiver is not an argument); null if none yet. */
  receiver(list) {
    return list.length ? this.rng.pick(list) : null;
  }

  figure() {
    const figs = this.others.filter((o) => o instanceof this.lib.Figure);
    return this.or(0.7, () => (figs.length ? this.rng.pick(figs) : { data: [], layout: {} }));
  }

  recording() {
    const recs = this.others.filter((o) => o instanceof this.lib.ResidencyRecording);
    return this.or(0.7, () => this.pick(recs));
  }
}

/**
 * The targets: [name, weight, (w) => call]. `call` runs the call and returns what it returned.
 * Instance methods are named "Class#method".
 */
function targets(lib) {
  const L = lib;
  const T = [];
  const add = (name, weight, run) => T.push({ name, weight, run });
  const opt = (w, fields) => w.options(fields);
  // acquire() on a lock this process holds waits (by design) until the holder unlocks or the
  // timeout: always a short finite timeout; wrong values only for the other fields.
  const acquireOptions = (w) => {
    const o = w.options({ sliceMs: () => w.rng.pick([1, 0, 5000]), signal: () => w.wild() });
    if (o === undefined) return { timeoutMs: 5 }; // no options: no timeout
    if (o === null || typeof o !== "object" || Array.isArray(o)) return o;
    return { ...o, timeoutMs: w.rng.pick([0, 1, 5, -1, NaN, "5"]) };
  };
  const seq = (w, n) => Array.from({ length: n }, () => w.rng.float() * 100);

  // ---- System V --------------------------------------------------------------------------
  add("ftok", 3, (w) => [L.ftok, w.filePath(), w.or(0.7, () => w.rng.pick(["R", 1, 255, 0, 256, "RR", "é"]))]);
  add("shmget", 6, (w) => {
    const key = w.keyArg();
    let flags = w.flags([L.IPC_CREAT, L.IPC_EXCL, 0o600, 0o644, 0o400, 0o4000]);
    // known "ipc-private-without-creat": IPC_PRIVATE creates even without IPC_CREAT, untracked.
    if (w.avoid.has("ipc-private-without-creat") && key === 0 && typeof flags === "number") flags |= L.IPC_CREAT;
    return [L.shmget, key, w.size(), flags, w.rng.chance(0.2) ? w.wild() : undefined];
  });
  add("shmat", 6, (w) => [
    L.shmat,
    w.shmid(),
    w.rng.chance(0.8) ? null : w.or(0.3, () => w.rng.pick([0, 0x7f0000000000n, 4097n, 1n])),
    w.flags([L.SHM_RDONLY, L.SHM_RND, 0x100000]),
  ]);
  add("shmdt", 4, (w) => [L.shmdt, w.region()]);
  add("shmctl", 4, (w) => [
    L.shmctl,
    w.shmid(),
    w.or(0.8, () => w.rng.pick([L.IPC_STAT, L.IPC_STAT, L.IPC_RMID, 1, 3, 15])),
    // C's buf: NULL is taken with IPC_RMID only.
    w.rng.chance(0.2) ? w.or(0.5, () => null) : undefined,
  ]);
  add("ipcs", 1, () => [L.ipcs]);
  add("sysconf", 2, (w) => [L.sysconf, w.or(0.6, () => w.rng.pick([L._SC_PAGESIZE, L._SC_OPEN_MAX, 9999, 84]))]);

  // ---- mman ------------------------------------------------------------------------------
  const MAPF = [L.MAP_SHARED, L.MAP_PRIVATE, L.MAP_ANONYMOUS, L.MAP_POPULATE, L.MAP_FIXED, L.MAP_NORESERVE, 0x40000000];
  const addr = (w) =>
    w.rng.chance(0.7)
      ? null
      : w.or(0.7, () => {
          const r = w.regions.length ? w.rng.pick(w.regions) : null;
          return w.rng.pick([r ? r.address : 0x7e0000000000n, 0x7e0000001000n, 0x1000n, 0x7e0000000001n, 2n ** 63n]);
        });
  // known "mmap-address-wraps": a bigint address >= 2**64 wraps to 0 and MAP_FIXED maps page 0 (root).
  const safeAddr = (w) => {
    const a = addr(w);
    return w.avoid.has("mmap-address-wraps") && typeof a === "bigint" && (a >= 2n ** 64n || a < 0n)
      ? 0x7e0000001000n
      : a;
  };
  add("mmap", 8, (w) => [
    L.mmap,
    safeAddr(w),
    w.size(),
    w.flags([L.PROT_READ, L.PROT_WRITE, L.PROT_EXEC, 8]),
    w.flags(MAPF),
    w.fd(),
    w.offset(),
  ]);
  add("munmap", 3, (w) => [L.munmap, w.region(), w.rng.chance(0.5) ? undefined : w.size()]);
  add("msync", 4, (w) => [L.msync, w.region(), w.size(), w.flags([L.MS_ASYNC, L.MS_SYNC, L.MS_INVALIDATE, 8])]);
  add("mprotect", 4, (w) => {
    const r = w.region();
    let length = w.size();
    // known "partial-mprotect": protecting part of a region leaves region.prot stale.
    if (w.avoid.has("partial-mprotect") && r instanceof L.Region && typeof length === "number" && length < r.length)
      length = r.length;
    return [L.mprotect, r, length, w.flags([L.PROT_READ, L.PROT_WRITE, L.PROT_EXEC, 16])];
  });
  add("madvise", 4, (w) => [
    L.madvise,
    w.region(),
    w.size(),
    w.or(0.8, () =>
      w.rng.pick([
        L.MADV_NORMAL,
        L.MADV_RANDOM,
        L.MADV_SEQUENTIAL,
        L.MADV_WILLNEED,
        L.MADV_DONTNEED,
        L.MADV_FREE,
        L.MADV_REMOVE,
        L.MADV_DONTFORK,
        L.MADV_DOFORK,
        L.MADV_HUGEPAGE,
        L.MADV_NOHUGEPAGE,
        L.MADV_COLD,
        L.MADV_PAGEOUT,
        L.MADV_POPULATE_READ,
        L.MADV_POPULATE_WRITE,
        5,
        100,
      ]),
    ),
  ]);
  add("mincore", 3, (w) => [L.mincore, w.region(), w.rng.chance(0.4) ? undefined : w.size()]);
  add("mapFile", 4, (w) => [
    L.mapFile,
    w.filePath(),
    opt(w, {
      length: () => w.size(),
      offset: () => w.offset(),
      writable: () => w.bool(),
      shared: () => w.bool(),
      create: () => w.size(),
    }),
  ]);
  add("mapAnonymous", 3, (w) => [
    L.mapAnonymous,
    w.size(),
    opt(w, { shared: () => w.bool(), populate: () => w.bool() }),
  ]);

  // ---- POSIX shm -------------------------------------------------------------------------
  add("shm_open", 5, (w) => {
    // known "readstring-past-eof": O_TRUNC shrinks objects that are mapped.
    const bits = w.avoid.has("readstring-past-eof")
      ? [L.O_RDONLY, L.O_RDWR, L.O_CREAT, L.O_EXCL, 0o4000]
      : [L.O_RDONLY, L.O_RDWR, L.O_CREAT, L.O_EXCL, L.O_TRUNC, 0o4000];
    return [L.shm_open, w.posixName(), w.flags(bits), w.or(0.8, () => w.rng.pick([0o600, 0o644, 0o7777, 0o10000]))];
  });
  add("shm_unlink", 3, (w) => [L.shm_unlink, w.posixName()]);
  add("PosixShm.create", 4, (w) => [
    L.PosixShm.create,
    w.posixName(),
    w.size(),
    opt(w, { mode: () => w.rng.pick([0o600, 0o644, -1]) }),
  ]);
  add("PosixShm.open", 3, (w) => [L.PosixShm.open, w.posixName(), opt(w, { readonly: () => w.bool() })]);
  const shm = (w) => w.receiver(w.posix);
  add("PosixShm#size", 2, (w) => [
    function size(p) {
      return p.size;
    },
    shm(w),
  ]);
  add("PosixShm#resize", 2, (w) => {
    const p = shm(w);
    let size = w.or(0.7, () => w.rng.pick([0, 4096, 8192, 100]));
    // known "readstring-past-eof": shrinking under a mapping; only grow while it is open.
    if (w.avoid.has("readstring-past-eof") && p && typeof size === "number" && Number.isInteger(size) && size >= 0) {
      try {
        size = Math.max(size, p.size);
      } catch {
        /* closed: resize will say so */
      }
    }
    return [
      function resize(x, n) {
        return x.resize(n);
      },
      p,
      size,
    ];
  });
  add("PosixShm#map", 3, (w) => [
    function map(p, o) {
      return p.map(o);
    },
    shm(w),
    opt(w, { length: () => w.size(), readonly: () => w.bool() }),
  ]);
  add("PosixShm#close", 1, (w) => [
    function close(p) {
      return p.close();
    },
    shm(w),
  ]);
  add("PosixShm#unlink", 1, (w) => [
    function unlink(p) {
      return p.unlink();
    },
    shm(w),
  ]);

  // ---- objects ---------------------------------------------------------------------------
  add("SharedSegment.create", 4, (w) => [
    L.SharedSegment.create,
    w.or(0.9, () =>
      opt(w, {
        size: () => w.size(),
        key: () => w.keyArg(),
        path: () => w.filePath(),
        projId: () => w.rng.pick(["R", 7, 0]),
        mode: () => w.rng.pick([0o600, 0o644, 0o1000, -1]),
        exclusive: () => w.bool(),
      }),
    ),
  ]);
  add("SharedSegment.open", 2, (w) => [
    L.SharedSegment.open,
    w.rng.chance(0.5) ? w.keyArg() : w.filePath(),
    w.rng.chance(0.5) ? undefined : w.wild(),
  ]);
  add("SharedSegment.fromId", 2, (w) => [L.SharedSegment.fromId, w.shmid()]);
  const seg = (w) => w.receiver(w.segments);
  add("SharedSegment#attach", 4, (w) => [
    function attach(s, o) {
      return s.attach(o);
    },
    seg(w),
    opt(w, { readonly: () => w.bool() }),
  ]);
  add("SharedSegment#stat", 2, (w) => [
    function stat(s) {
      return s.stat();
    },
    seg(w),
  ]);
  add("SharedSegment#remove", 2, (w) => [
    function remove(s) {
      return s.remove();
    },
    seg(w),
  ]);
  add("SharedSegment#dispose", 1, (w) => [
    function dispose(s) {
      return s[Symbol.dispose]();
    },
    seg(w),
  ]);

  // ---- region helpers (checked accesses; raw .buffer writes are not fuzzed) ---------------
  const reg = (w) => w.receiver(w.regions);
  add("Region#writeString", 5, (w) => [
    function writeString(r, t, o) {
      return r.writeString(t, o);
    },
    reg(w),
    w.or(0.8, () => w.rng.pick(["hi", "é€😀", LONG, "a\0b"])),
    w.rng.chance(0.3) ? undefined : w.offset(),
  ]);
  add("Region#readString", 4, (w) => {
    // known "readstring-past-eof": any file mapping may reach past its file's end.
    const pool = w.avoid.has("readstring-past-eof")
      ? w.regions.filter((r) => !(r instanceof L.Mapping && r.path))
      : w.regions;
    return [
      function readString(r, o) {
        return r.readString(o);
      },
      w.receiver(pool),
      w.rng.chance(0.3) ? undefined : w.offset(),
    ];
  });
  add("Region#readInt32", 3, (w) => [
    function readInt32(r, o) {
      return r.readInt32(o);
    },
    reg(w),
    w.offset(),
  ]);
  add("Region#writeInt32", 3, (w) => [
    function writeInt32(r, o, v) {
      return r.writeInt32(o, v);
    },
    reg(w),
    w.offset(),
    w.int32(),
  ]);
  add("Region#readBigInt64", 2, (w) => [
    function readBigInt64(r, o) {
      return r.readBigInt64(o);
    },
    reg(w),
    w.offset(),
  ]);
  add("Region#writeBigInt64", 2, (w) => [
    function writeBigInt64(r, o, v) {
      return r.writeBigInt64(o, v);
    },
    reg(w),
    w.offset(),
    w.or(0.6, () => w.rng.pick([0n, -1n, 2n ** 63n - 1n])),
  ]);
  add("Region#buffer.length", 2, (w) => [
    function bufferLength(r) {
      return r.buffer.length;
    },
    reg(w),
  ]);
  add("Attachment#detach", 2, (w) => [
    function detach(r) {
      return r.detach();
    },
    w.receiver(w.regions.filter((r) => r instanceof L.Attachment)),
  ]);
  add("Attachment#stat", 2, (w) => [
    function stat(r) {
      return r.stat();
    },
    w.receiver(w.regions.filter((r) => r instanceof L.Attachment)),
  ]);
  const mapping = (w) => w.receiver(w.regions.filter((r) => r instanceof L.Mapping));
  add("Mapping#sync", 3, (w) => [
    function sync(m, f, o, l) {
      return m.sync(f, o, l);
    },
    mapping(w),
    w.flags([L.MS_SYNC, L.MS_ASYNC, L.MS_INVALIDATE]),
    w.rng.chance(0.5) ? undefined : w.offset(),
    w.rng.chance(0.5) ? undefined : w.size(),
  ]);
  add("Mapping#protect", 2, (w) => [
    function protect(m, p) {
      return m.protect(p);
    },
    mapping(w),
    w.flags([L.PROT_READ, L.PROT_WRITE]),
  ]);
  add("Mapping#advise", 2, (w) => [
    function advise(m, a) {
      return m.advise(a);
    },
    mapping(w),
    w.or(0.7, () => w.rng.pick([0, 1, 2, 3, 4, 8, 9, 99])),
  ]);
  add("Mapping#residency", 1, (w) => [
    function residency(m) {
      return m.residency();
    },
    mapping(w),
  ]);
  add("Mapping#unmap", 2, (w) => [
    function unmap(m) {
      return m.unmap();
    },
    mapping(w),
  ]);

  // ---- registry --------------------------------------------------------------------------
  add("reap", 1, () => [L.reap]);
  add("trackedObjects", 1, () => [L.trackedObjects]);
  add("cleanupCreated", 0.2, () => [L.cleanupCreated]);

  // ---- sync ------------------------------------------------------------------------------
  if (L.ShmLock) {
    // Locks live in regions of their own, one per 64-byte slot, which no other fuzzed call
    // writes: a mutex overwritten by a string or re-initialised while held makes glibc abort or
    // hang, as in C (see EXCLUDED). Wrong offsets are ones that cannot land on another lock.
    const lockOffset = (w) =>
      w.rng.chance(0.75)
        ? 64 * w.rng.int(0, 63)
        : w.rng.pick([-8, 0.5, NaN, "64", undefined, 3, 4, 2 ** 53, 1 << 30, 65536, Infinity, 64n, null]);
    const lockRegion = (w) =>
      w.rng.chance(0.9) ? w.pick(w.lockRegions) : w.rng.pick([w.wild(), w.pick(w.regions.filter((r) => !r.attached))]);
    add("ShmLock.init", 3, (w) => {
      const region = lockRegion(w);
      const offset = lockOffset(w);
      // Never re-initialise a lock someone holds (documented: "never while anyone uses it").
      const held = (l) => {
        try {
          return l.heldByMe;
        } catch {
          return false; // its region is detached: nothing to corrupt
        }
      };
      if (w.locks.some((l) => l.region === region && l.offset === (offset ?? 0) && held(l)))
        return [L.ShmLock.init, region, 0.5];
      return [
        L.ShmLock.init,
        region,
        offset,
        w.rng.chance(0.7) ? undefined : opt(w, { onOwnerDied: () => w.callback() }),
      ];
    });
    add("ShmLock.open", 2, (w) => [L.ShmLock.open, lockRegion(w), lockOffset(w)]);
    const lock = (w) => w.receiver(w.locks);
    add("ShmLock#tryLock", 3, (w) => [
      function tryLock(l) {
        return l.tryLock();
      },
      lock(w),
    ]);
    add("ShmLock#lock", 2, (w) => [
      function lock(l) {
        return l.lock();
      },
      lock(w),
    ]);
    add("ShmLock#unlock", 3, (w) => [
      function unlock(l) {
        return l.unlock();
      },
      lock(w),
    ]);
    add("ShmLock#acquire", 1, (w) => [
      function acquire(l, o) {
        return l.acquire(o);
      },
      lock(w),
      acquireOptions(w),
    ]);
    add("ShmLock#withLockSync", 1, (w) => [
      function withLockSync(l, f) {
        return l.withLockSync(f);
      },
      lock(w),
      w.callback(),
    ]);
    add("ShmLock#ownerPid", 1, (w) => [
      function ownerPid(l) {
        return l.ownerPid;
      },
      lock(w),
    ]);
  }
  if (L.SharedWord) {
    add("new SharedWord", 3, (w) => [
      function newWord(r, o, opts) {
        return new L.SharedWord(r, o, opts);
      },
      w.liveRegion(),
      w.offset(),
      w.options({ waitersAt: () => w.offset() }),
    ]);
    const word = (w) => w.receiver(w.words);
    add("SharedWord#load", 1, (w) => [
      function load(x) {
        return x.load();
      },
      word(w),
    ]);
    add("SharedWord#store", 1, (w) => [
      function store(x, v) {
        return x.store(v);
      },
      word(w),
      w.int32(),
    ]);
    add("SharedWord#add", 1, (w) => [
      function addTo(x, v) {
        return x.add(v);
      },
      word(w),
      w.int32(),
    ]);
    add("SharedWord#compareExchange", 1, (w) => [
      function cas(x, a, b) {
        return x.compareExchange(a, b);
      },
      word(w),
      w.int32(),
      w.int32(),
    ]);
    // Never wait for the value the word holds without a finite timeout: that blocks by design.
    add("SharedWord#wait", 2, (w) => {
      const x = word(w);
      const expected = w.int32();
      let timeout = w.or(0.6, () => w.rng.pick([0, 1, 2]));
      const blocksForever = (t) => t === undefined || t === Infinity || (typeof t === "number" && t > 50);
      if (blocksForever(timeout)) timeout = 1;
      return [
        function wait(x2, e, t) {
          return x2.wait(e, t);
        },
        x,
        expected,
        timeout,
      ];
    });
    add("SharedWord#notify", 1, (w) => [
      function notify(x, n) {
        return x.notify(n);
      },
      word(w),
      w.or(0.5, () => w.rng.pick([0, 1, 100])),
    ]);
  }

  // ---- record ----------------------------------------------------------------------------
  if (L.SharedRecord) {
    add("SharedRecord.byteLength", 1, (w) => [L.SharedRecord.byteLength, w.size()]);
    add("SharedRecord.init", 3, (w) => [
      L.SharedRecord.init,
      w.liveRegion(),
      w.offset(),
      w.or(0.6, () => w.rng.pick([1, 16, 100, 1000, 40000])),
    ]);
    add("SharedRecord.open", 2, (w) => [L.SharedRecord.open, w.liveRegion(), w.offset()]);
    const rec = (w) => w.receiver(w.records);
    add("SharedRecord#write", 4, (w) => [
      function write(r, d) {
        return r.write(d);
      },
      rec(w),
      w.data(),
    ]);
    add("SharedRecord#read", 3, (w) => [
      function read(r) {
        return r.readSnapshot();
      },
      rec(w),
    ]);
    add("SharedRecord#readString", 1, (w) => [
      function readString(r) {
        return r.readString();
      },
      rec(w),
    ]);
  }
  add("crc32", 1, (w) => [
    L.crc32,
    w.or(0.7, () => Buffer.from("123456789")),
    w.rng.chance(0.5) ? undefined : w.offset(),
    w.rng.chance(0.5) ? undefined : w.offset(),
  ]);

  // ---- instruments -----------------------------------------------------------------------
  add("faults", 1, () => [L.faults]);
  add("measure", 2, (w) => [L.measure, w.callback(), opt(w, { region: () => w.region(), label: () => "x" })]);
  add("residency", 2, (w) => [L.residency, w.region()]);
  add("residentPages", 2, (w) => [L.residentPages, w.region()]);
  add("recordResidency", 1, (w) => [
    L.recordResidency,
    w.region(),
    w.smallCount(),
    w.callback(),
    w.rng.chance(0.5) ? undefined : w.wild(),
  ]);
  add("new ResidencySampler", 1, (w) => [
    function sampler(r, t) {
      const s = new L.ResidencySampler(r, t);
      s.sample("x");
      return s;
    },
    w.region(),
    w.rng.chance(0.5) ? undefined : w.wild(),
  ]);
  add("sampleLatency", 1, (w) => [
    L.sampleLatency,
    w.callback(),
    opt(w, {
      n: () => w.smallCount(),
      warmup: () => w.smallCount(),
      unit: () => w.rng.pick(["ns", "us", "ms", "s"]),
      overheadSamples: () => w.smallCount(),
      setup: () => w.callback(),
    }),
  ]);
  add("latencyStats", 1, (w) => [
    L.latencyStats,
    w.or(0.6, () => w.rng.pick([[], [1, 2, 3], new Float64Array(5), seq(w, 50)])),
  ]);
  add("dropFromPageCache", 1, (w) => [L.dropFromPageCache, w.rng.chance(0.5) ? w.filePath() : w.fd()]);
  add("cachedPages", 1, (w) => [L.cachedPages, w.rng.chance(0.5) ? w.filePath() : w.fd()]);

  // ---- display and figures ---------------------------------------------------------------
  add("display", 1, (w) => [
    L.display,
    w.rng.pick([...w.regions.slice(-2), w.wild()]),
    opt(w, { id: () => "x", update: () => w.bool() }),
  ]);
  add("setDisplayPublisher", 0.5, (w) => [L.setDisplayPublisher, w.rng.chance(0.5) ? undefined : w.callback()]);
  add("displayDataOf", 1, (w) => [
    L.displayDataOf,
    w.rng.pick([...w.regions.slice(-2), ...w.segments.slice(-1), w.wild()]),
  ]);
  add("hasDisplay", 1, (w) => [L.hasDisplay, w.wild()]);
  add("plot.lines", 1, (w) => [
    L.plot.lines,
    w.or(0.6, () => [1, 2, 3]),
    w.or(0.6, () => ({ a: [1, 2, 3] })),
    w.rng.chance(0.5) ? undefined : w.wild(),
  ]);
  add("plot.histogram", 1, (w) => [
    L.plot.histogram,
    w.or(0.6, () => seq(w, 20)),
    w.rng.chance(0.5) ? undefined : w.wild(),
  ]);
  add("plot.ecdf", 1, (w) => [
    L.plot.ecdf,
    w.or(0.6, () => ({ a: seq(w, 20) })),
    w.rng.chance(0.5) ? undefined : w.wild(),
  ]);
  add("plot.heatmap", 1, (w) => [
    L.plot.heatmap,
    w.or(0.6, () => [
      [1, 2],
      [3, 4],
    ]),
    w.rng.chance(0.5) ? undefined : w.wild(),
  ]);
  add("plot.residency", 1, (w) => [L.plot.residency, w.recording(), w.rng.chance(0.5) ? undefined : w.wild()]);
  add("plot.bar", 1, (w) => [
    L.plot.bar,
    w.or(0.6, () => ["a", "b"]),
    w.or(0.6, () => [1, 2]),
    w.rng.chance(0.5) ? undefined : w.wild(),
  ]);
  add("new Figure", 1, (w) => [
    function figure(d, l, c) {
      return new L.Figure(d, l, c);
    },
    w.or(0.6, () => []),
    w.or(0.6, () => ({})),
    w.wild(),
  ]);
  add("figureHtml", 1, (w) => [L.figureHtml, w.figure(), w.rng.chance(0.5) ? undefined : w.wild()]);
  add("resetPlotlyEmbedding", 0.3, () => [L.resetPlotlyEmbedding]);
  add("plotlyEmbedded", 0.3, () => [L.plotlyEmbedded]);
  add("plotlyLibraryPath", 0.3, () => [L.plotlyLibraryPath]);
  add("pngUnavailableReason", 0.3, () => [L.pngUnavailableReason]);
  // Rendering starts a browser when the arguments are valid: only wrong arguments here.
  add("renderFigurePng", 0.3, (w) => [L.renderFigurePng, w.wild(), w.wild()]);
  add("renderFigurePngs", 0.3, (w) => [L.renderFigurePngs, w.wild(), w.wild()]);
  add("attachRenderedPng", 0.3, (w) => [L.attachRenderedPng, w.wild(), w.wild()]);
  add("addPngsToNotebook", 0.3, (w) => [L.addPngsToNotebook, w.wild(), w.wild()]);

  // ---- processes and lab -----------------------------------------------------------------
  if (L.runTs) {
    // Spawning costs ~100 ms: rare, and mostly sources that do not compile or bad options.
    add("runTs", 0.05, (w) => [
      L.runTs,
      w.or(0.5, () => w.rng.pick(["let x: number = 1;", "syntax error (", "process.exit(3)"])),
      opt(w, { timeoutMs: () => w.rng.pick([1, 2000]), quiet: () => true, args: () => ["a"], cwd: () => w.filePath() }),
    ]);
    add("spawnTs", 0.05, (w) => [
      function spawnTs(s, o) {
        const h = L.spawnTs(s, o);
        return h.done;
      },
      w.or(0.3, () => "syntax error ("),
      opt(w, { quiet: () => true, label: () => "x", input: () => "in" }),
    ]);
    add("runningChildren", 0.3, () => [L.runningChildren]);
    add("killChildren", 0.3, (w) => [L.killChildren, w.rng.chance(0.5) ? undefined : w.wild()]);
  }
  if (L.uniqueName) {
    add("uniqueName", 1, (w) => [L.uniqueName, w.or(0.5, () => "fuzz")]);
    add("labDir", 0.3, () => [L.labDir]);
    add("noCompilerReason", 0.3, () => [L.noCompilerReason]);
    // cc costs ~100 ms: rare, with wrong arguments mostly.
    add("compileC", 0.05, (w) => [
      L.compileC,
      w.or(0.3, () => "int main(void){return 0;}"),
      w.or(0.5, () => w.rng.pick(["prog", "../x", "a b"])),
    ]);
    add("runProgram", 0.2, (w) => [
      L.runProgram,
      w.or(0.5, () => path.join(w.dir, "no-such-program")),
      w.rng.chance(0.5) ? undefined : w.wild(),
      w.rng.chance(0.5) ? undefined : w.wild(),
    ]);
  }
  if (L.mkfifo) {
    add("mkfifo", 1, (w) => {
      // known "fifo-open-blocks": a FIFO where mapFile/cachedPages look makes them block forever.
      const fresh = path.join(w.dir, `fifo-${w.counter++}`);
      let p = w.or(0.8, () => w.rng.pick([fresh, ...w.files]));
      if (w.avoid.has("fifo-open-blocks") && (typeof p !== "string" || p !== fresh))
        p = w.rng.chance(0.5) ? fresh : w.rng.pick([42, null, "a\0b", {}]);
      return [L.mkfifo, p, w.or(0.7, () => w.rng.pick([0o600, 0o644, 0o10000]))];
    });
  }
  // ---- spies, file systems, maps, claims, dirty pages, live ipcs, tables -----------------
  if (L.countCalls) {
    add("countCalls", 1, (w) => [
      function countCalls(n, o) {
        const c = L.countCalls(n, o);
        c.stop();
        return c;
      },
      w.or(0.6, () => [w.rng.pick(["mmap", "msync", "shmget", "nosuch"])]),
      w.rng.chance(0.6) ? undefined : opt(w, { keep: () => w.smallCount(), standIns: () => w.wild() }),
    ]);
    add("countableCalls", 0.2, () => [L.countableCalls]);
    // Spawns children: rare, and with wrong arguments only (the work callback would start them).
    add("countChildCalls", 0.05, (w) => [L.countChildCalls, w.wild(), w.wild()]);
  }
  if (L.fsType) {
    add("fsType", 1, (w) => [L.fsType, w.or(0.6, () => w.rng.pick(["/dev/shm", "/tmp", w.dir, "/no/such/dir/x"]))]);
    add("fsInfo", 1, (w) => [L.fsInfo, w.or(0.6, () => w.rng.pick(["/dev/shm", "/", w.filePath()]))]);
  }
  if (L.showMaps) {
    const pid = (w) => w.or(0.7, () => w.rng.pick([process.pid, "self", 1, 0, -1, 2 ** 31]));
    add("showMaps", 0.3, (w) => [L.showMaps, pid(w), pid(w)]);
    add("readMaps", 0.5, (w) => [L.readMaps, pid(w)]);
    add("smapsRollup", 0.5, (w) => [L.smapsRollup, pid(w)]);
    add("smapsOf", 0.5, (w) => [
      L.smapsOf,
      pid(w),
      w.or(0.5, () => w.rng.pick([0n, 4096n, ...w.regions.slice(-1).map((r) => r.address)])),
    ]);
    add("physicalFrame", 0.5, (w) => [
      L.physicalFrame,
      pid(w),
      w.or(0.5, () => w.rng.pick([0n, 4096n, ...w.regions.slice(-1).map((r) => r.address)])),
    ]);
  }
  if (L.claim) {
    // A false claim throws ClaimError by design (the notebook's prose would be wrong): true claims, wrong sentences.
    add("claim", 0.5, (w) => [
      function claimTrue(s) {
        return L.claim(true, s);
      },
      w.or(0.5, () => "a sentence"),
    ]);
    add("say", 0.5, (w) => [L.say, w.or(0.5, () => "a sentence")]);
  }
  if (L.cachestat) {
    add("cachestat", 2, (w) => [
      L.cachestat,
      w.rng.chance(0.5) ? w.fd() : w.region(),
      w.rng.chance(0.5) ? undefined : w.offset(),
      w.rng.chance(0.5) ? undefined : w.size(),
    ]);
    add("dirtyPages", 2, (w) => [L.dirtyPages, w.region()]);
    add("dirtyCount", 1, (w) => [L.dirtyCount, w.region()]);
    add("pageStateName", 0.5, (w) => [L.pageStateName, w.or(0.6, () => w.rng.pick([0, 1, 2, 3, 4, -1]))]);
    add("new PageStateSampler", 0.5, (w) => [
      function sampler(r, o) {
        const s = new L.PageStateSampler(r, o);
        s.sample("x");
        return s;
      },
      w.region(),
      w.rng.chance(0.5) ? undefined : w.wild(),
    ]);
    add("pageStates", 0.3, (w) => [L.pageStates, w.wild(), w.rng.chance(0.5) ? undefined : w.wild()]);
  }
  if (L.watchIpcs) {
    // A watcher polls on a timer: stopped at once, so the fuzzer's event loop stays its own.
    add("watchIpcs", 0.5, (w) => [
      function watch(o) {
        const x = L.watchIpcs(o);
        x.stop();
        return x;
      },
      w.rng.chance(0.4)
        ? undefined
        : opt(w, {
            intervalMs: () => w.rng.pick([50, 0, -1]),
            posix: () => w.bool(),
            events: () => w.smallCount(),
            maxMs: () => w.rng.pick([10, -1]),
          }),
    ]);
    add("onCellEnd", 0.3, (w) => [
      function onCellEnd(f) {
        const off = L.onCellEnd(f);
        off();
        return off;
      },
      w.callback(),
    ]);
    add("cellEnded", 0.3, () => [L.cellEnded]);
  }
  if (L.recordFaultTimeline) {
    // It touches the pages it is given: wrong arguments only (a PROT_NONE region would fault, as in C).
    add("recordFaultTimeline", 0.3, (w) => [L.recordFaultTimeline, w.wild(), w.wild(), w.wild()]);
    add("shuffledPages", 0.5, (w) => [
      L.shuffledPages,
      w.or(0.6, () => w.rng.pick([0, 1, 64, 5000])),
      w.rng.chance(0.5) ? undefined : w.wild(),
    ]);
  }
  if (L.table)
    add("table", 1, (w) => [
      L.table,
      w.or(0.6, () => ["a", "b"]),
      w.or(0.6, () => [
        [1, 2],
        ["x", null],
      ]),
      w.rng.chance(0.5) ? undefined : w.wild(),
    ]);

  if (L.IpcError)
    add("new IpcError", 0.3, (w) => [
      function ipcError(c, m, f) {
        return new L.IpcError(c, m, f);
      },
      w.wild(),
      w.wild(),
      w.wild(),
    ]);

  return T;
}

/** Every function-valued export of the package root, so a test can check none is missing from the catalogue. */
function exportedFunctions(lib) {
  return Object.entries(lib)
    .filter(([, v]) => typeof v === "function")
    .map(([k]) => k);
}

module.exports = { World, targets, exportedFunctions, EXCLUDED };
