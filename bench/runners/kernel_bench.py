#!/usr/bin/python3
"""Kernel start to first result, and the notebook suite's execution time, through real Jupyter.

Usage: /usr/bin/python3 kernel_bench.py start <kernel_dir> <node> <repeats> [tslab-ipc|ipykernel]
       /usr/bin/python3 kernel_bench.py cells <kernel_dir> <node> <repeats> [tslab-ipc|ipykernel]
       /usr/bin/python3 kernel_bench.py notebooks <kernel_dir> <node> <notebooks_dir>

`start` and `cells` run against our kernel or, for the comparison, Python's ipykernel (Debian's
python3-ipykernel, kernelspec "python3"), the same way through jupyter_client.

The project's kernelspec (kernel/kernel.json) is registered in a private JUPYTER_PATH with
absolute paths. Prints one JSON line like the other runners (seconds).
"""
import glob
import json
import os
import shutil
import sys
import tempfile
import time

SPEC_NAME = "tslab-ipc-bench"


def emit(result):
    sys.stdout.write(json.dumps(result) + "\n")


def expose_kernel(kernel_dir, node):
    """A private JUPYTER_PATH with kernels/<SPEC_NAME>: the project's kernel.json with its argv
    made absolute (the template names `node` and paths relative to the repository), so the
    kernel starts from any folder, as `npm run kernel:install` would register it."""
    repo = os.path.dirname(os.path.abspath(kernel_dir))
    with open(os.path.join(kernel_dir, "kernel.json")) as f:
        spec = json.load(f)
    argv = []
    for i, arg in enumerate(spec["argv"]):
        if arg == "node":
            arg = node
        elif "{" not in arg and not os.path.isabs(arg) and os.path.exists(os.path.join(repo, arg)):
            arg = os.path.join(repo, arg)
        argv.append(arg)
    spec["argv"] = argv
    root = tempfile.mkdtemp(prefix="tslab-bench-jupyter-")
    spec_dir = os.path.join(root, "kernels", SPEC_NAME)
    os.makedirs(spec_dir)
    for name in os.listdir(kernel_dir):  # logos and the like: resources of the spec
        if name.endswith(".png") or name.endswith(".svg"):
            shutil.copy(os.path.join(kernel_dir, name), spec_dir)
    with open(os.path.join(spec_dir, "kernel.json"), "w") as f:
        json.dump(spec, f)
    os.environ["JUPYTER_PATH"] = root + os.pathsep + os.environ.get("JUPYTER_PATH", "")
    return root


def first_result(kc, code, timeout):
    """Executes `code`; returns the text of the first execute_result or stream output."""
    msg_id = kc.execute(code)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        msg = kc.get_iopub_msg(timeout=max(0.1, deadline - time.monotonic()))
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        kind, content = msg["msg_type"], msg["content"]
        if kind == "execute_result":
            return content["data"].get("text/plain", "")
        if kind == "stream":
            return content.get("text", "")
        if kind == "error":
            raise RuntimeError("%s: %s" % (content.get("ename"), content.get("evalue")))
    raise TimeoutError("no result within %d s" % timeout)


IPYKERNEL_SPEC = "python3"

# The same three cells in each language: a trivial one, one that defines a function, and one
# that calls the System V API (shmget + shmat + a string write + shmdt + IPC_RMID; Python's
# through sysv_ipc). Each ends with an expression, so its result is the end of the cell. The
# function and API cells declare names a notebook's earlier cells did not, as a notebook's cells
# do ({i}: the round): until 6 December they declared the same `bump` every round, and the API
# cell's names were inside a block, and a cell that declares a name already declared, or none,
# costs the kernel less (the kernel section of the analysis). A fourth, run LOOP_RUNS times after
# the rounds, sums a million numbers into a name of the notebook's, as a student's loop at a cell's
# top level does (its time is the language's and the kernel's names', not the compiler's).
CELLS = {
    "tslab-ipc": {
        "trivial": "1+1",
        "function": "function bump{i}(x: number): number {{ return x + 1; }}\nbump{i}(1)",
        "api": (
            "const id{i} = shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0o600);\nconst seg{i} = shmat(id{i});\n"
            "seg{i}.writeString('hi'); shmdt(seg{i}); shmctl(id{i}, IPC_RMID);\n2"
        ),
        "loop": "let total{i} = 0;\nfor (let j = 0; j < 1_000_000; j++) total{i} += j;\ntotal{i}",
    },
    "ipykernel": {
        "trivial": "1+1",
        "function": "def bump{i}(x):\n    return x + 1\nbump{i}(1)",
        "api": (
            "import sysv_ipc\nseg{i} = sysv_ipc.SharedMemory(None, sysv_ipc.IPC_CREX, 0o600, 4096)\n"
            "seg{i}.write(b'hi\\0'); seg{i}.detach(); seg{i}.remove()\n2"
        ),
        "loop": "total{i} = 0\nfor j in range(1_000_000):\n    total{i} += j\ntotal{i}",
    },
}


def spec_name(system):
    return IPYKERNEL_SPEC if system == "ipykernel" else SPEC_NAME


def ipykernel_missing():
    try:
        import ipykernel  # noqa: F401
    except ImportError:
        return "python3-ipykernel is not installed (apt-get install python3-ipykernel)"
    return None


def tree_rss_mib(pid):
    """Resident memory of a process and all its descendants, in MiB (from /proc)."""
    children = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry) as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        todo.extend(children.get(p, []))
        try:
            with open("/proc/%d/status" % p) as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024.0


def execute_timed(kc, code, timeout=60):
    """Seconds from execute_request to the reply, failing on an error."""
    t0 = time.monotonic()
    reply = kc.execute_interactive(code, timeout=timeout, output_hook=lambda msg: None)
    dt = time.monotonic() - t0
    if reply["content"]["status"] != "ok":
        raise RuntimeError("cell failed: %r: %s" % (code, reply["content"].get("evalue")))
    return dt


# Past both of the kernel's idle steps: its compaction of the old space 5 s after the last cell
# (kernel/idle-gc.js), and V8's memory reducer, whose memory-reducing GC comes one or more of its
# 8 s timer ticks later (a tick starts it only once V8 judges the allocation rate low against the
# GC speed it has measured) and is what gives back the young generation (grown to 33.6 MB over 90
# cells, ~1 MB of it live). RSS every 1-5 s after the bench's 90 cells: on 3 December, 177-179
# MiB at 4 s, 150 from 6 s to 15 s, 121-123 from 16 s on; on 5 December, 148-150 from 6 s to
# 30 s and 120-123 from 32 s on (five kernels: three of 41bbc32's code, two of d626e96's, the
# code of the run of 02:56 that had read 121 at 25 s). The row read at 10 s, then at 25 s: each
# was between the two steps on some day.
IDLE_S = 40

# The paused rounds: a person reads a cell's output before running the next one, and our kernel
# uses that time (it prepares the next cell's declarations once a reply has gone: the converter's
# prepare). A tenth of a second is shorter than any person's pause and longer than that work
# (~4 ms); both kernels get the same pause. The rounds without a pause are the targets' rows:
# there the next cell comes ~1 ms after the reply, and the cell waits for what is left of it.
PAUSE_S = 0.1

# The loop cell's runs, after the rounds (it takes ~0.1-1 s, and the rounds measure milliseconds).
LOOP_RUNS = 5


def cells(kernel_dir, repeats, system):
    """Median-able samples of each cell kind, and the kernel's memory after its first cell and
    idle after the last."""
    from jupyter_client.manager import start_new_kernel

    repo = os.path.dirname(os.path.abspath(kernel_dir))
    cwd = os.path.join(repo, "notebooks") if os.path.isdir(os.path.join(repo, "notebooks")) else repo
    km, kc = start_new_kernel(kernel_name=spec_name(system), startup_timeout=60, cwd=cwd)
    try:
        code = CELLS["ipykernel" if system == "ipykernel" else "tslab-ipc"]
        execute_timed(kc, code["trivial"])
        pid = km.provisioner.process.pid
        rss = tree_rss_mib(pid)
        kinds = ("trivial", "function", "api")
        out = {key: [] for kind in kinds for key in (kind, kind + "_paused")}
        # Kinds interleaved, so a slow moment of the machine hits every kind, and rounds without
        # and with a pause interleaved, so both see as warm a kernel and as many declarations.
        for i in range(repeats):
            for kind in kinds:
                out[kind].append(execute_timed(kc, code[kind].format(i=2 * i)))
            for kind in kinds:
                time.sleep(PAUSE_S)
                out[kind + "_paused"].append(execute_timed(kc, code[kind].format(i=2 * i + 1)))
        # What the kernel holds between a person's cells after those: idle for IDLE_S seconds.
        time.sleep(IDLE_S)
        rss_idle = tree_rss_mib(pid)
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=False)
    out["loop"] = loop_cells(spec_name(system), cwd, code["loop"])
    out["samples"] = out["trivial"]
    out["rss"] = [rss]
    out["rss_idle"] = [rss_idle]
    out["note"] = (
        "%d rounds of the three cells in one kernel, interleaved with as many with a %.1f s pause before each cell; RSS of the kernel and its children after its first cell, and %d s after the last; the loop cell %d times in a kernel of its own"
        % (repeats, PAUSE_S, IDLE_S, LOOP_RUNS)
    )
    emit(out)


def loop_cells(spec, cwd, loop):
    """LOOP_RUNS runs of the loop cell, in a kernel of their own: its million numbers would grow
    the young generation of the rounds' kernel before its idle reading (measured: 157 MiB idle
    after them, in the quick run of 8 December at 03:52, against 124 in the full run before)."""
    from jupyter_client.manager import start_new_kernel

    km, kc = start_new_kernel(kernel_name=spec, startup_timeout=60, cwd=cwd)
    try:
        execute_timed(kc, "1+1")
        return [execute_timed(kc, loop.format(i=j)) for j in range(LOOP_RUNS)]
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=False)


def start(kernel_dir, repeats, system="tslab-ipc"):
    from jupyter_client.manager import KernelManager, start_new_kernel

    # The client's own one-off costs, paid before the first timed start, as a running Jupyter
    # server has paid them long before a user starts a kernel: finding a kernel spec the first
    # time imports IPython (for its legacy ~/.ipython/kernels folder), 0.41 s here. Without this,
    # the first of each process's starts took 0.7-0.8 s longer than the others, for ipykernel and
    # ours alike (3 December: 1.63 against 0.85-1.06 s, 1.82 against 0.89-0.99 s).
    KernelManager(kernel_name=spec_name(system)).kernel_spec

    # Where Jupyter would start it: the notebooks' folder (the repository if there is none).
    repo = os.path.dirname(os.path.abspath(kernel_dir))
    cwd = os.path.join(repo, "notebooks") if os.path.isdir(os.path.join(repo, "notebooks")) else repo

    samples, ready, outputs = [], [], []
    for _ in range(repeats):
        t0 = time.monotonic()
        km, kc = start_new_kernel(kernel_name=spec_name(system), startup_timeout=60, cwd=cwd)
        try:
            t1 = time.monotonic()  # kernel_info answered: the kernel is up
            text = first_result(kc, "1+1", 60)
            t2 = time.monotonic()
        finally:
            kc.stop_channels()
            km.shutdown_kernel(now=False)
        if text.strip() != "2":
            raise RuntimeError("1+1 gave %r" % text)
        samples.append(t2 - t0)
        ready.append(t1 - t0)
        outputs.append(text.strip())
    emit({"samples": samples, "ready": ready, "note": "start_new_kernel to the first execute_result of 1+1"})


def notebooks(kernel_dir, nb_dir):
    import nbformat
    from nbclient import NotebookClient

    paths = sorted(glob.glob(os.path.join(nb_dir, "*.ipynb")))
    if not paths:
        return emit({"skipped": "no notebooks in notebooks/ yet"})
    total, each = 0.0, {}
    for p in paths:
        nb = nbformat.read(p, as_version=4)
        t0 = time.monotonic()
        NotebookClient(
            nb,
            kernel_name=SPEC_NAME,
            timeout=300,
            resources={"metadata": {"path": os.path.dirname(p)}},
            skip_cells_with_tag="interactive",  # as npm start: cells that wait for a person
        ).execute()
        dt = time.monotonic() - t0
        each[os.path.basename(p)] = dt
        total += dt
    emit({"samples": [total], "each": each, "note": "%d notebooks, each in a fresh kernel" % len(paths)})


def main():
    mode, kernel_dir, node = sys.argv[1], sys.argv[2], sys.argv[3]
    if not os.path.exists(os.path.join(kernel_dir, "kernel.json")):
        return emit({"skipped": "kernel/kernel.json does not exist yet"})
    root = expose_kernel(kernel_dir, node)
    try:
        system = sys.argv[5] if len(sys.argv) > 5 else "tslab-ipc"
        if system == "ipykernel" and ipykernel_missing():
            return emit({"skipped": ipykernel_missing()})
        if mode == "start":
            start(kernel_dir, int(sys.argv[4]), system)
        elif mode == "cells":
            cells(kernel_dir, int(sys.argv[4]), system)
        else:
            notebooks(kernel_dir, sys.argv[4])
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
