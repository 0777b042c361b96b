"""Execute notebooks and export HTML with Jupyter's own tools (nbclient, nbconvert).

Called by src/handouts (npm start) and by the notebook tests, always with /usr/bin/python3:

  nbrun.py execute IN.ipynb OUT.ipynb --kernel tslab-ipc [--timeout 120] [--cwd DIR] [--runs N]
      runs every cell (errors are recorded in the outputs, not raised, so the caller can
      judge them against the `raises-exception` tags) and writes OUT.ipynb; prints one JSON
      line: {"ok": bool, "seconds": float, "error": str|null, "segments_left": [...],
      "dev_shm_left": [...]}. "ok"
      is false only when the run itself broke (kernel died, a cell timed out, the kernel could
      not start). "segments_left" lists this user's System V segments that appeared during the run
      and are still there after the kernel shut down (lines of /proc/sysvipc/shm), and
      "dev_shm_left" the new names in /dev/shm; run in its own IPC namespace and /dev/shm
      (see src/handouts/jupyter.ts) it sees only what the notebook made.
  nbrun.py html IN.ipynb OUT.html [IN2.ipynb OUT2.html ...]
      nbconvert's HTML exporter (lab template) without the require.js and MathJax <script>
      tags it loads from a CDN: the page is self-contained and works offline (figures carry
      plotly.js inline in their own output).
  nbrun.py html --serve
      the same for each line of stdin, a JSON list [IN.ipynb, OUT.html, ...], answered by one
      JSON line on stdout ({"ok": true, "files": n} or {"ok": false, "error": str}) until
      stdin ends: one process (nbconvert's imports, its templates) for the pages of a whole
      run, written while the run goes on.
"""
import json
import os
import signal
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "jupyter"))
from kernel_start import remove_connection_file, start_kernel  # noqa: E402
from own_ipc import own_rows  # noqa: E402


def sysv_segments():
    """This user's segments (src/jupyter/own_ipc.py), by shmid: the first 8 fields of each row."""
    return {row[1]: " ".join(row[:8]) for row in own_rows("shm")}


def dev_shm():
    try:
        return set(os.listdir("/dev/shm"))
    except OSError:
        return set()


def stop_once(signum, frame):
    """SIGINT: KeyboardInterrupt the first time, nothing after."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    raise KeyboardInterrupt


def execute(argv):
    import argparse
    import nbformat
    from nbclient import NotebookClient

    p = argparse.ArgumentParser()
    p.add_argument("input")
    p.add_argument("output")
    p.add_argument("--kernel", default="tslab-ipc")
    p.add_argument("--timeout", type=int, default=120)
    p.add_argument("--cwd", default=None)
    p.add_argument("--runs", type=int, default=1)
    a = p.parse_args(argv)

    # One Ctrl-C stops the run, and the cleanup below runs whole: a terminal's Ctrl-C reaches this
    # process twice (from the terminal to the job, and from the parent's exit, src/handouts/
    # jupyter.ts), and a second KeyboardInterrupt raised inside the cleanup left the connection
    # file behind.
    signal.signal(signal.SIGINT, stop_once)
    nb = nbformat.read(a.input, as_version=4)
    cwd = a.cwd or os.path.dirname(os.path.abspath(a.input))
    client = NotebookClient(
        nb,
        kernel_name=a.kernel,
        timeout=a.timeout,
        allow_errors=True,
        record_timing=False,
        skip_cells_with_tag="interactive",  # cells that wait for a person at the keyboard
        resources={"metadata": {"path": cwd}},
    )
    before = sysv_segments()
    before_shm = dev_shm()
    started = time.time()
    error = None
    try:
        start_kernel(client)  # client.execute() and setup_kernel() use the kernel it started
        if a.runs == 1:
            client.execute()
        else:
            # Run All, a.runs times, in ONE kernel (what a student does when re-running from
            # the top); each earlier run is written to OUTPUT.runK.ipynb for judging.
            with client.setup_kernel():
                for run in range(1, a.runs + 1):
                    for index, cell in enumerate(nb.cells):
                        client.execute_cell(cell, index, execution_count=client.code_cells_executed + 1)
                    if run < a.runs:
                        nbformat.write(nb, "%s.run%d.ipynb" % (a.output[: -len(".ipynb")] if a.output.endswith(".ipynb") else a.output, run))
    except Exception as e:  # a dead kernel, a timeout, a kernel that does not start
        error = "%s: %s" % (type(e).__name__, str(e).strip().splitlines()[0] if str(e).strip() else "")
    except BaseException:
        # Stopped (Ctrl-C of npm start: KeyboardInterrupt): nbclient leaves its connection file,
        # with the kernel's key, in the temp folder. The kernel ends by itself (its parent is gone).
        if client.km is not None:
            remove_connection_file(client.km)
        raise
    seconds = time.time() - started
    nbformat.write(nb, a.output)
    left = [line for shmid, line in sysv_segments().items() if shmid not in before]
    shm_left = sorted(dev_shm() - before_shm)
    print(json.dumps({"ok": error is None, "seconds": round(seconds, 3), "error": error,
                      "segments_left": left, "dev_shm_left": shm_left}), flush=True)


OFFLINE_TEMPLATE = """{%- extends 'lab/index.html.j2' -%}
{%- block html_head_js_requirejs -%}{%- endblock html_head_js_requirejs -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
"""


def keep_relaxed_validators():
    """nbconvert validates the notebook after each of its preprocessors with relax_add_props,
    and nbformat 5.5 (Debian 12's) compiles a new schema validator for every such call (about
    20 ms, most of an export's time). The same schema makes the same validator: keep it."""
    from nbformat import validator

    compile_validator = validator.get_validator
    relaxed = {}

    def get_validator(version=None, version_minor=None, relax_add_props=False, name=None):
        if not relax_add_props:
            return compile_validator(version, version_minor, relax_add_props, name)
        key = (version, version_minor, name)
        if key not in relaxed:
            relaxed[key] = compile_validator(version, version_minor, relax_add_props, name)
        return relaxed[key]

    validator.get_validator = get_validator


def keep_highlighted_code():
    """The executed page, the student page and the print copy of a notebook show mostly the same
    code cells, and Pygments highlighted each again (a new Highlight2HTML per notebook): keep
    the HTML of each source, per lexer. What the highlight depends on is the key: the lexer,
    the source, the language asked for, and a cell's magics_language (its only use of the
    metadata). The pages are byte for byte the same; 14% less CPU for 02's and 09's pages."""
    from nbconvert.filters.highlight import Highlight2HTML

    highlight = Highlight2HTML.__call__
    done = {}

    def kept(self, source, language=None, metadata=None):
        key = (self.pygments_lexer, source, language, (metadata or {}).get("magics_language"))
        if key not in done:
            done[key] = highlight(self, source, language, metadata)
        return done[key]

    Highlight2HTML.__call__ = kept


PAIRS_NEEDED = "html needs pairs: IN.ipynb OUT.html ..."


def html(argv):
    import nbformat
    from jinja2 import DictLoader
    from nbconvert import HTMLExporter

    keep_relaxed_validators()
    keep_highlighted_code()
    exporter = HTMLExporter(
        extra_loaders=[DictLoader({"tslab-ipc-offline.html.j2": OFFLINE_TEMPLATE})],
        template_file="tslab-ipc-offline.html.j2",
        embed_images=True,
    )

    def export(paths):
        for i in range(0, len(paths), 2):
            nb = nbformat.read(paths[i], as_version=4)
            body, _ = exporter.from_notebook_node(nb)
            with open(paths[i + 1], "w", encoding="utf-8") as f:
                f.write(body)
        return {"ok": True, "files": len(paths) // 2}

    if argv != ["--serve"]:
        if len(argv) == 0 or len(argv) % 2:
            raise SystemExit(PAIRS_NEEDED)
        print(json.dumps(export(argv)), flush=True)
        return
    for line in sys.stdin:
        try:
            paths = json.loads(line)
            if not isinstance(paths, list) or len(paths) == 0 or len(paths) % 2:
                raise ValueError(PAIRS_NEEDED)
            answer = export(paths)
        except Exception as e:  # this request fails; the next may not
            answer = {"ok": False, "error": "%s: %s" % (type(e).__name__, e)}
        print(json.dumps(answer), flush=True)


if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in ("execute", "html"):
        raise SystemExit(__doc__)
    {"execute": execute, "html": html}[sys.argv[1]](sys.argv[2:])
