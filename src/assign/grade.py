"""Run one assembled submission cell by cell with nbclient, inside its sandbox.

Called by src/assign/grade.ts, always with /usr/bin/python3, already inside the sandbox
(own IPC namespace, /dev/shm and /tmp where allowed, limits, an unprivileged user):

  grade.py --kernel tslab-ipc --timeout SECONDS --cwd DIR [--grace SECONDS] < NOTEBOOK.ipynb

The notebook comes on stdin: the hidden tests are then on no disk the kernel can read. The
result is ONE JSON object written to file descriptor 3, never to stdout: the kernel inherits
stdout and stderr, so student code can write there but cannot forge the result. This process is not dumpable, so the kernel, though it may run as the same user,
can neither open this process's descriptors through /proc nor trace it.

  {"kernel_seconds": float, "seconds": float, "cells": [{"index", "status", "ename",
   "evalue"}], "death": {"signal": "SIGSEGV", "code": -11, "cell": i} | null,
   "stuck": str | null, "leaks": [str], "notebook": {...executed...}}

status is "ok", "error", "timeout" (interrupted after SECONDS), "dead" (the kernel died in
this cell), "not-run" (after a death, or after a kernel that ignored the interrupt) or
"skipped" (not code, or empty). A cell that times out is interrupted and the next cell runs
in the same kernel; if the kernel does not answer within --grace seconds after the
interrupt, it is killed and the rest are "not-run". IPC objects that appeared during the run
and outlived the kernel are the submission's leaks: listed, then removed.
"""
import argparse
import json
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "jupyter"))
from kernel_start import start_kernel  # noqa: E402
from own_ipc import own_rows  # noqa: E402


def not_dumpable():
    """PR_SET_DUMPABLE 0: /proc/<this pid>/fd, /mem and ptrace become root's alone, so a kernel
    of the same uid cannot write a forged result into fd 3 or rewrite this process."""
    import ctypes
    PR_SET_DUMPABLE = 4
    if ctypes.CDLL(None, use_errno=True).prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_DUMPABLE, 0)")


def read_notebook():
    """The notebook from stdin; then stdin is /dev/null, for the kernel."""
    import nbformat
    nb = nbformat.read(sys.stdin, as_version=4)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    return nb


# What the grader keeps of one cell's outputs, in bytes of their JSON: the result on fd 3 is
# then at most this per cell, whatever a submission prints. Without it a submission printing
# for as long as its cells may run (each up to --timeout) could send grade.py's memory past its
# limit, and the grader a result too large for one string.
OUTPUT_BYTES_PER_CELL = 1 << 20


def capped_client_class():
    """NotebookClient that keeps the first OUTPUT_BYTES_PER_CELL of each cell's outputs, then
    one stream line saying what was not kept. Error outputs are always kept (they are small,
    and the grade reads them)."""
    from nbclient import NotebookClient

    class CappedNotebookClient(NotebookClient):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.kept_bytes = {}  # cell index -> bytes of output kept
            self.cut = set()  # cells whose output was cut (the note is there)

        def output(self, outs, msg, display_id, cell_index):
            size = len(json.dumps(msg.get("content", {})))
            used = self.kept_bytes.get(cell_index, 0)
            if msg["msg_type"] != "error" and used + size > OUTPUT_BYTES_PER_CELL:
                if cell_index not in self.cut:
                    import nbformat
                    self.cut.add(cell_index)
                    outs.append(nbformat.v4.new_output(
                        "stream", name="stderr",
                        text="[the grader kept the first %d KiB of this cell's output]\n" % (OUTPUT_BYTES_PER_CELL >> 10)))
                return None
            self.kept_bytes[cell_index] = used + size
            return super().output(outs, msg, display_id, cell_index)

    return CappedNotebookClient


def result_channel():
    # Taken from fd 3 and made non-inheritable, so the kernel never holds it.
    fd = os.dup(3)
    os.close(3)
    return os.fdopen(fd, "w")


def ipc_objects():
    """{"shm 123": "key shmid ...", "sem ...", "msg ...", "/dev/shm/name": ...}: this user's.

    Only objects this uid created (src/jupyter/own_ipc.py; for /dev/shm, the name's owner):
    without namespaces of its own a submission's run also sees other users' objects.
    """
    found = {}
    uid = os.getuid()
    for kind in ("shm", "sem", "msg"):
        for fields in own_rows(kind):
            found["%s %s" % (kind, fields[1])] = "System V %s key 0x%08x id %s" % (
                {"shm": "segment", "sem": "semaphore set", "msg": "message queue"}[kind], int(fields[0]) & 0xFFFFFFFF, fields[1])
    try:
        names = os.listdir("/dev/shm")
    except OSError:
        names = []
    for name in names:
        try:
            if os.lstat("/dev/shm/" + name).st_uid == uid:
                found["/dev/shm/" + name] = "/dev/shm/" + name
        except OSError:
            pass  # gone since the listing
    return found


def remove_ipc_object(key):
    kind, _, ident = key.partition(" ")
    if key.startswith("/dev/shm/"):
        path = key
        try:
            if os.path.isdir(path) and not os.path.islink(path):
                import shutil
                shutil.rmtree(path)
            else:
                os.unlink(path)
        except OSError:
            pass
        return
    flag = {"shm": "-m", "sem": "-s", "msg": "-q"}[kind]
    subprocess.run(["ipcrm", flag, ident], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def signal_name(code):
    if code is None or code >= 0:
        return None
    try:
        return signal.Signals(-code).name
    except ValueError:
        return "signal %d" % -code


def main(argv):
    p = argparse.ArgumentParser()
    p.add_argument("--kernel", default="tslab-ipc")
    p.add_argument("--timeout", type=float, default=30)
    p.add_argument("--grace", type=float, default=10)
    p.add_argument("--cwd", default=None)
    a = p.parse_args(argv)
    not_dumpable()
    out = result_channel()

    import nbformat
    from nbclient.exceptions import DeadKernelError

    nb = read_notebook()
    timeout = max(1, int(round(a.timeout)))
    message = "the cell ran longer than %d s and was interrupted" % timeout
    client = capped_client_class()(
        nb,
        kernel_name=a.kernel,
        timeout=timeout,
        allow_errors=True,
        interrupt_on_timeout=True,
        error_on_timeout={"ename": "Timeout", "evalue": message, "traceback": ["Timeout: " + message]},
        record_timing=False,
        iopub_timeout=2,
        shutdown_kernel="immediate",
        resources={"metadata": {"path": a.cwd or os.getcwd()}},
    )
    replies = {}
    client.on_cell_executed = lambda cell, cell_index, execute_reply: replies.__setitem__(cell_index, execute_reply)

    before = ipc_objects()
    started = time.time()
    cells = [{"index": i, "status": "skipped", "ename": None, "evalue": None} for i in range(len(nb.cells))]
    death = None
    stuck = None
    kernel_seconds = None
    try:
        start_kernel(client)  # setup_kernel() uses the kernel it started
        with client.setup_kernel():
            kernel_seconds = time.time() - started
            for index, cell in enumerate(nb.cells):
                if death or stuck:
                    if cell.cell_type == "code" and cell.source.strip():
                        cells[index]["status"] = "not-run"
                    continue
                if cell.cell_type != "code" or not cell.source.strip():
                    continue
                try:
                    client.execute_cell(cell, index, execution_count=client.code_cells_executed + 1)
                except DeadKernelError:
                    process = getattr(client.km.provisioner, "process", None) if client.km else None
                    code = process.poll() if process else None
                    death = {"signal": signal_name(code), "code": code, "cell": index}
                    cells[index]["status"] = "dead"
                    cells[index]["ename"] = "KernelDied"
                    cells[index]["evalue"] = "the kernel died (%s)" % (signal_name(code) or "exit code %s" % code)
                    cell.outputs.append(nbformat.v4.new_output("error", ename="KernelDied", evalue=cells[index]["evalue"], traceback=[]))
                    continue
                content = (replies.get(index) or {}).get("content", {})
                if content.get("status") == "error" and content.get("ename") == "Timeout":
                    cells[index].update(status="timeout", ename="Timeout", evalue=message)
                    cell.outputs.append(nbformat.v4.new_output("error", ename="Timeout", evalue=message, traceback=[]))
                    # Does the kernel answer again? A probe cell with the grace period as its timeout.
                    probe = nbformat.v4.new_code_cell("0")
                    client.timeout = max(1, int(a.grace))
                    try:
                        client.execute_cell(probe, index)
                    except DeadKernelError:
                        stuck = "the kernel died after the interrupt"
                    else:
                        probe_reply = (replies.get(index) or {}).get("content", {})
                        if probe_reply.get("ename") == "Timeout":
                            stuck = "the kernel did not stop within %d s of the interrupt and was killed" % int(a.grace)
                    client.timeout = timeout
                    nb.cells[index] = cell  # execute_cell stored the probe in its place
                    if stuck:
                        try:
                            client.km.provisioner.process.kill()
                        except Exception:
                            pass
                    continue
                errors = [o for o in cell.outputs if o.get("output_type") == "error"]
                if content.get("status") == "error" or errors:
                    cells[index]["status"] = "error"
                    cells[index]["ename"] = content.get("ename") or (errors[0].get("ename") if errors else "Error")
                    cells[index]["evalue"] = content.get("evalue") or (errors[0].get("evalue") if errors else "")
                else:
                    cells[index]["status"] = "ok"
    except DeadKernelError as e:  # the kernel died on start
        stuck = "the kernel died before the first cell (%s)" % e
    except Exception as e:  # the kernel did not start, or the client broke
        stuck = "%s: %s" % (type(e).__name__, str(e).strip().splitlines()[0] if str(e).strip() else "")
    for c in cells:
        if stuck and c["status"] == "skipped" and nb.cells[c["index"]].cell_type == "code" and nb.cells[c["index"]].source.strip():
            c["status"] = "not-run"
    seconds = time.time() - started

    # The kernel is gone (shut down, or dead): what is still there is left behind.
    after = ipc_objects()
    leaks = [after[k] for k in sorted(after) if k not in before]
    for k in sorted(after):
        if k not in before:
            remove_ipc_object(k)

    json.dump({"kernel_seconds": kernel_seconds, "seconds": seconds, "cells": cells, "death": death,
               "stuck": stuck, "leaks": leaks, "notebook": nb}, out)
    out.close()


if __name__ == "__main__":
    main(sys.argv[1:])
