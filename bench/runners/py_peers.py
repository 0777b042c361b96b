#!/usr/bin/python3
"""The Python a user would pick instead of tslab-ipc: the standard `mmap` module,
`multiprocessing.shared_memory`, and `sysv_ipc` (Debian's python3-sysv-ipc).

Usage: /usr/bin/python3 py_peers.py <peer> <workload> args...  (the arguments of bench/c/bench.c)
Peers: py-mmap, py-shared_memory, py-sysv_ipc. Prints one JSON line like the other runners.

Bulk writes use numpy's fill over the shared memory (Python itself has no memset; numpy is
what a Python user fills a buffer with); copy-in is memoryview slice assignment (a memcpy).
"""
import json
import mmap
import os
import resource
import sys
import time

PAGE = 4096
# Calls before a batched measurement starts (as bench/runners/ours.js).
WARM_CALLS = 10000


def emit(result):
    sys.stdout.write(json.dumps(result) + "\n")


def skip(reason):
    emit({"skipped": reason})


def minflt():
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def now_ns():
    return time.perf_counter_ns()


class Target:
    """Shared memory of `size` bytes for one peer: .view (a writable memoryview) and close()."""

    def __init__(self, peer, kind, path, size):
        self.closers = []
        if peer == "py-sysv_ipc":
            if kind != "sysv":
                raise Unsupported("System V segments only (no file mappings)")
            import sysv_ipc

            seg = sysv_ipc.SharedMemory(None, sysv_ipc.IPC_CREX, mode=0o600, size=size)
            seg.remove()  # marked for removal at once: gone at the last detach
            self.view = memoryview(seg)
            self.closers = [self.view.release, seg.detach]
        elif peer == "py-shared_memory":
            if kind == "sysv":
                raise Unsupported("POSIX shared memory only (no System V)")
            if os.path.dirname(path) != "/dev/shm":
                raise Unsupported("POSIX shared memory lives in /dev/shm")
            from multiprocessing import shared_memory

            shm = shared_memory.SharedMemory(name=os.path.basename(path), create=True, size=size)
            shm.unlink()  # the mapping keeps the memory; nothing is left behind
            self.view = shm.buf
            self.closers = [shm.close]
        elif peer == "py-mmap":
            if kind == "sysv":
                raise Unsupported("no System V segments (mmap of files and anonymous memory)")
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
            try:
                os.ftruncate(fd, size)
                m = mmap.mmap(fd, size, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
            finally:
                os.close(fd)
                os.unlink(path)
            self.map = m
            self.view = memoryview(m)
            self.closers = [self.view.release, m.close]
        else:
            raise Unsupported("unknown peer " + peer)

    def close(self):
        for c in self.closers:
            c()


class Unsupported(Exception):
    pass


def bulk(peer, copy, kind, path, size, reps):
    t = Target(peer, kind, path, size)
    view = t.view
    if copy:
        src = bytearray(b"\x5a") * size
        fill = None
    else:
        try:
            import numpy as np
        except ImportError:
            t.close()
            return skip("no fill primitive without numpy (not installed)")
        arr = np.frombuffer(view, dtype=np.uint8)
        fill = arr.fill
    samples, check = [], 0
    # Every system times the passes that follow the one pass that faults the region in (rep 0
    # elsewhere). sysv_ipc's constructor makes that pass itself (it fills a new segment with
    # init_character), so its rep 0 would be a second untimed pass, and on this host the first
    # pass after the faults runs at about half the speed of the later ones (bench/analysis.md,
    # "Bulk write and copy-in"): a rep 0 here would give it the faster passes to time.
    first = 1 if peer == "py-sysv_ipc" else 0
    for r in range(first, reps + 1):
        value = (r & 0x7F) | 1
        if copy:
            src[r] = value
        t0 = now_ns()
        if copy:
            view[:] = src
        else:
            fill(value)
        t1 = now_ns()
        check += view[r] + view[size - 1]
        if r > 0:
            samples.append(size / (t1 - t0))
    if not copy:
        del arr, fill
    t.close()
    how = "memoryview slice assignment (memcpy)" if copy else "numpy fill over a memoryview (Python has no memset)"
    emit({"samples": samples, "check": check, "note": how})


def touch(peer, size, reps):
    if peer == "py-mmap":
        return skip("makes no segments (maps files and anonymous memory)")
    pages = size // PAGE
    samples, faults, check = [], [], 0
    for r in range(reps + 1):
        kind = "sysv" if peer == "py-sysv_ipc" else "posix"
        path = "/dev/shm/" + os.environ.get("BENCH_SHM_PREFIX", "tslab-bench-py-") + "touch-%d-%d" % (os.getpid(), r)
        # sysv_ipc fills every new segment with init_character (it cannot be turned off): its
        # first touch happens in the constructor, so for it the constructor is timed too.
        in_ctor = peer == "py-sysv_ipc"
        if in_ctor:
            f0, t0 = minflt(), now_ns()
        t = Target(peer, kind, path, size)
        view = t.view
        if not in_ctor:
            f0, t0 = minflt(), now_ns()
        for i in range(0, size, PAGE):
            view[i] = 1
        t1 = now_ns()
        f1 = minflt()
        check += view[size - PAGE]
        if r > 0:
            samples.append((t1 - t0) / pages)
            faults.append((f1 - f0) / pages)
        t.close()
    result = {"samples": samples, "faults": faults, "check": check}
    if peer == "py-sysv_ipc":
        result["note"] = "includes the constructor, which touches every page (init_character)"
    emit(result)


def time_batches(cycles, batches, once):
    """As timeBatches in common.js: a warm-up of at least 5000 calls, then timed batches."""
    us, check = [], 0
    for _ in range(max(5000, cycles)):
        check += once()
    for b in range(1, batches + 1):
        t0 = now_ns()
        for _ in range(cycles):
            check += once()
        t1 = now_ns()
        if b > 0:
            us.append((t1 - t0) / 1e3 / cycles)
    return {"samples": us, "check": check}


def segcycle(peer, cycles, batches):
    if peer != "py-sysv_ipc":
        return skip("no System V segments" + (" (POSIX objects are other work)" if peer == "py-shared_memory" else ""))
    import sysv_ipc

    def once():
        seg = sysv_ipc.SharedMemory(None, sysv_ipc.IPC_CREX, mode=0o600, size=PAGE)  # shmget + shmat
        a = seg.address & 0xFFFF
        seg.detach()
        seg.remove()
        return a

    result = time_batches(cycles, batches, once)
    result["note"] = "the constructor also fills the new page (init_character, cannot be turned off)"
    emit(result)


def mmapcycle(peer, kind, path, cycles, batches):
    if peer != "py-mmap":
        return skip("no mmap of one page" if peer == "py-sysv_ipc" else "maps POSIX objects only (shm_open + ftruncate: other work)")
    fd = -1
    if kind == "file":
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
        os.ftruncate(fd, PAGE)
        os.unlink(path)

    def once():
        m = mmap.mmap(fd, PAGE, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
        v = len(m) & 1
        m.close()
        return v

    result = time_batches(cycles, batches, once)
    if fd >= 0:
        os.close(fd)
    emit(result)


def msync_latency(peer, path, count, batch=1):
    if peer != "py-mmap":
        return skip("no msync" if peer == "py-sysv_ipc" else "no flush (msync) on SharedMemory")
    t = Target(peer, "file", path, PAGE)
    m, samples = t.map, []
    n = max(1, batch)  # batch > 1: one sample per `batch` calls, as bench.c does
    for i in range(-max(count // 10, -(-WARM_CALLS // n) if n > 1 else 0), count):
        if n == 1:
            m[i & 0xFF] = i & 0xFF
            t0 = now_ns()
            m.flush(0, PAGE)  # msync(MS_SYNC)
        else:
            t0 = now_ns()
            for k in range(n):
                m[k & 0xFF] = (i + k) & 0xFF
                m.flush(0, PAGE)
        t1 = now_ns()
        if i >= 0:
            samples.append((t1 - t0) / 1e3 / n)
    t.close()
    emit({"samples": samples})


def pingpong(peer, seconds):
    """Two processes hand a token back and forth with a pair of System V semaphores."""
    if peer != "py-sysv_ipc":
        return skip("no cross-process wait primitive")
    import sysv_ipc

    there = sysv_ipc.Semaphore(None, sysv_ipc.IPC_CREX, mode=0o600, initial_value=0)
    back = sysv_ipc.Semaphore(None, sysv_ipc.IPC_CREX, mode=0o600, initial_value=0)
    child = os.fork()
    if child == 0:
        try:
            while True:
                there.acquire()
                back.release()
        except sysv_ipc.ExistentialError:  # removed by the parent: done
            os._exit(0)
        os._exit(0)
    windows = Windows(seconds)
    try:
        while True:
            for _ in range(64):
                there.release()
                back.acquire()
            if not windows.tick(64):
                break
    finally:
        there.remove()
        back.remove()
        os.waitpid(child, 0)
    emit({"samples": windows.rates, "trips": windows.trips})


class Windows:
    """Round trips per second in windows of 100 ms, the first one warm-up (as bench.c)."""

    WINDOW = 100_000_000

    def __init__(self, seconds):
        self.start = self.window_start = now_ns()
        self.end = self.start + seconds * 1e9 + self.WINDOW
        self.trips = self.in_window = 0
        self.rates = []

    def tick(self, trips):
        self.trips += trips
        self.in_window += trips
        t = now_ns()
        if t - self.window_start >= self.WINDOW:
            if self.window_start > self.start:
                self.rates.append(self.in_window / ((t - self.window_start) / 1e9))
            self.window_start, self.in_window = t, 0
        return t < self.end


def main():
    peer, workload, args = sys.argv[1], sys.argv[2], sys.argv[3:]
    n = lambda i: int(float(args[i]))
    try:
        if workload == "fill":
            bulk(peer, False, args[0], args[1], n(2), n(3))
        elif workload == "copy":
            bulk(peer, True, args[0], args[1], n(2), n(3))
        elif workload == "touch":
            touch(peer, n(0), n(1))
        elif workload == "segcycle":
            segcycle(peer, n(0), n(1))
        elif workload == "mmapcycle":
            mmapcycle(peer, args[0], args[1], n(2), n(3))
        elif workload == "msync":
            msync_latency(peer, args[0], n(1), n(2) if len(args) > 2 and args[2] else 1)
        elif workload == "pingpong":
            pingpong(peer, float(args[0]))
        else:
            skip("unknown workload " + workload)
    except Unsupported as e:
        skip(str(e))


if __name__ == "__main__":
    main()
