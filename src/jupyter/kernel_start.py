"""Start an nbclient NotebookClient's kernel, again with new ports when the first start dies.

jupyter_client picks the kernel's five TCP ports by binding port 0 and closing the socket, then
writes them to the connection file; the kernel binds them a moment later. In between, any other
process on the machine can take one of them (another kernel's client connecting from an
ephemeral port is enough), and the kernel exits with EADDRINUSE before its first reply. On a busy
machine (a grader running two submissions at a time, npm start, the test suite) that happens,
rarely, and it must not cost a notebook its run or a student their points: no cell has run yet,
so starting again with new ports changes nothing the notebook sees.

Used by src/handouts/nbrun.py and src/assign/grade.py:

    start_kernel(client)            # then: with client.setup_kernel(): ...
    remove_connection_file(client.km)   # a run stopped (Ctrl-C) at any moment of the start
"""
import os
import sys
import tempfile
import time
import uuid

ATTEMPTS = 3


def _again_when_it_dies(start, forget, attempts, log):
    """Returns start(); a kernel that died before its first reply ("Kernel died before replying
    to kernel_info", DeadKernelError) is forgotten and started again, up to `attempts` times in
    all. Any other failure (a kernel that hangs) and the last death are raised as they came."""
    for attempt in range(1, attempts + 1):
        try:
            return start()
        except RuntimeError as e:
            forget()
            if "died" not in str(e).lower() or attempt == attempts:
                raise
            print("tslab-ipc: the kernel died on start (%s); starting it again with new ports" % str(e).strip(),
                  file=log, flush=True)
            time.sleep(0.2 * attempt)


def search_jupyter_kernel_dirs_only(km):
    """Makes km look for kernel specs in Jupyter's own folders (jupyter_path("kernels"), which
    JUPYTER_PATH extends: where every kernel of ours is installed) and not also in IPython's
    legacy ~/.ipython/kernels. jupyter_client finds that last folder by importing IPython, whose
    package import pulls in the terminal shell and prompt_toolkit: 0.16-0.24 s of CPU in every
    process that starts a kernel, so in each notebook of `npm start` and each graded submission.
    kernel_dirs already set on km's spec manager are left as they are."""
    from jupyter_core.paths import jupyter_path

    specs = km.kernel_spec_manager
    if not specs.trait_has_value("kernel_dirs"):
        specs.kernel_dirs = jupyter_path("kernels")


def name_connection_file(km):
    """Names km's connection file before its start writes it. Left unnamed, jupyter_client names
    it as it writes it (tempfile.mkstemp in the temp folder) and marks it written only once it has
    assigned the name, so a KeyboardInterrupt in between left the file, with the kernel's key, where
    cleanup_connection_file does not look. Named first, remove_connection_file finds it whenever
    the run stops. The name is as unguessable as mkstemp's (a random UUID), so in a shared temp
    folder no other user can put a file or a link there first; jupyter_client's write removes
    whatever is at the name and creates the file anew, readable by this user alone (0600)."""
    if not km.connection_file:
        km.connection_file = os.path.join(tempfile.gettempdir(), "kernel-%s.json" % uuid.uuid4())


def remove_connection_file(km):
    """Removes km's connection file, whether or not jupyter_client has marked it written."""
    km.cleanup_connection_file()
    if km.connection_file:
        try:
            os.remove(km.connection_file)
        except OSError:
            pass


def start_kernel(client, attempts=ATTEMPTS, log=sys.stderr):
    """Starts client's kernel and its client (a new kernel manager, so new ports, each time),
    again when the kernel dies before its first reply."""

    def start():
        if client.km is None:
            client.km = client.create_kernel_manager()
            search_jupyter_kernel_dirs_only(client.km)
            name_connection_file(client.km)
        if not client.km.has_kernel:
            client.start_new_kernel()
        client.start_new_kernel_client()

    def forget():
        # nbclient shut the manager down (a failed wait_for_ready cleans up); make sure.
        try:
            client._cleanup_kernel()
        except Exception:
            pass
        client.km = None
        client.kc = None

    _again_when_it_dies(start, forget, attempts, log)


def start_new_kernel(attempts=ATTEMPTS, log=sys.stderr, **kwargs):
    """jupyter_client.manager.start_new_kernel(**kwargs), again (new ports) when the kernel dies
    before its first reply. Returns (km, kc). jupyter_client shuts a dead kernel down itself."""
    from jupyter_client.manager import start_new_kernel as start

    return _again_when_it_dies(lambda: start(**kwargs), lambda: None, attempts, log)
