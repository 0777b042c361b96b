#!/usr/bin/python3
"""Kernel start to first result, and the notebook suite's execution time, through real Jupyter.

Usage: /usr/bin/python3 kernel_bench.py start <kernel_dir> <node> <repeats>
       /usr/bin/python3 kernel_bench.py notebooks <kernel_dir> <node> <notebooks_dir>

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
        if i == 0 and arg == "node":
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


def start(kernel_dir, repeats):
    from jupyter_client.manager import start_new_kernel

    # Where Jupyter would start it: the notebooks' folder (the repository if there is none).
    repo = os.path.dirname(os.path.abspath(kernel_dir))
    cwd = os.path.join(repo, "notebooks") if os.path.isdir(os.path.join(repo, "notebooks")) else repo

    samples, ready, outputs = [], [], []
    for _ in range(repeats):
        t0 = time.monotonic()
        km, kc = start_new_kernel(kernel_name=SPEC_NAME, startup_timeout=60, cwd=cwd)
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
        NotebookClient(nb, kernel_name=SPEC_NAME, timeout=300, resources={"metadata": {"path": os.path.dirname(p)}}).execute()
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
        if mode == "start":
            start(kernel_dir, int(sys.argv[4]))
        else:
            notebooks(kernel_dir, sys.argv[4])
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
