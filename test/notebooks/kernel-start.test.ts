// A kernel that dies before its first reply (one of its ports taken by another process between
// jupyter_client choosing it and the kernel binding it, which a busy machine sees now and then)
// is started again with new ports by the notebook runners (src/jupyter/kernel_start.py), so
// npm start, the notebook tests and the grader do not lose a run to it. The failure is real
// here: a listener holds the shell port on the first start, and kernel/main.js exits with
// EADDRINUSE. A kernel that never starts still fails the run, with its own words in the error.
import fs from "fs";
import os from "os";
import path from "path";
import { spawnSync } from "child_process";
import { executeNotebook, jupyterUnavailableReason, projectKernel, writeNotebook } from "../../src/handouts";
import { jupyterPython } from "../../src/handouts/jupyter";

const unavailable = jupyterUnavailableReason();
const maybe = unavailable ? test.skip : test;
const skipNote = unavailable ? ` [skipped: ${unavailable}]` : "";

/** A one-cell notebook in `dir`, and the kernelspec of `kernel` pointed at `argv` instead. */
function setUp(dir: string, kernel: ReturnType<typeof projectKernel>, argv: string[]): string {
  const spec = path.join(kernel.env.JUPYTER_DATA_DIR as string, "kernels", "tslab-ipc", "kernel.json");
  fs.writeFileSync(spec, JSON.stringify({ ...JSON.parse(fs.readFileSync(spec, "utf8")), argv }));
  const input = path.join(dir, "one.ipynb");
  writeNotebook(input, {
    cells: [{ cell_type: "code", metadata: {}, execution_count: null, outputs: [], source: "6 * 7" }],
    metadata: { kernelspec: { name: "tslab-ipc", display_name: "TypeScript (IPC)", language: "typescript" } },
    nbformat: 4,
    nbformat_minor: 4,
  });
  return input;
}

maybe(
  `a kernel that dies on its first start because a port was taken is started again, and the notebook runs${skipNote}`,
  async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tslab-ipc-kernel-start-"));
    const kernel = projectKernel();
    try {
      const marker = path.join(dir, "started-once");
      const fixture = path.join(__dirname, "fixtures", "port-taken-kernel.js");
      const input = setUp(dir, kernel, [process.execPath, fixture, marker, "{connection_file}"]);
      const output = path.join(dir, "out.ipynb");
      const result = await executeNotebook(input, output, { env: kernel.env, cwd: dir });
      expect(fs.existsSync(marker)).toBe(true); // the first start did meet the taken port
      expect(result.error).toBeNull();
      expect(result.ok).toBe(true);
      const cell = JSON.parse(fs.readFileSync(output, "utf8")).cells[0];
      const said = cell.outputs.map((o: { data?: Record<string, string[] | string> }) =>
        [o.data?.["text/plain"]].flat().join(""),
      );
      expect(said).toEqual(["42"]);
    } finally {
      kernel.dispose();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  },
  120_000,
);

maybe(
  `a kernel that never starts fails the run, and the error carries what the kernel said${skipNote}`,
  async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tslab-ipc-kernel-start-"));
    const kernel = projectKernel();
    try {
      const says = "kernel-start test: this kernel refuses to start";
      const input = setUp(dir, kernel, ["/bin/sh", "-c", `echo '${says}' >&2; exit 3`]);
      const result = await executeNotebook(input, path.join(dir, "out.ipynb"), { env: kernel.env, cwd: dir });
      expect(result.ok).toBe(false);
      expect(result.error).toMatch(/died/i);
      expect(result.error).toContain(says);
    } finally {
      kernel.dispose();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  },
  120_000,
);

// The runners' kernel manager looks for kernel specs in Jupyter's folders only: jupyter_client's
// default also searches ~/.ipython/kernels, which it finds by importing IPython (0.2 s of CPU in
// every notebook run and graded submission). Our kernel is still found where it is installed,
// IPython is not imported, and kernel_dirs already set by the caller are kept.
maybe(
  `the runners find the kernel in Jupyter's folders without importing IPython, and keep folders set before${skipNote}`,
  () => {
    const kernel = projectKernel();
    try {
      const script = `
import json, sys
sys.path.insert(0, ${JSON.stringify(path.join(__dirname, "..", "..", "src", "jupyter"))})
import nbformat
from nbclient import NotebookClient
from kernel_start import search_jupyter_kernel_dirs_only
km = NotebookClient(nbformat.v4.new_notebook(), kernel_name="tslab-ipc").create_kernel_manager()
search_jupyter_kernel_dirs_only(km)
found = km.kernel_spec.resource_dir
kept = NotebookClient(nbformat.v4.new_notebook(), kernel_name="tslab-ipc").create_kernel_manager()
kept.kernel_spec_manager.kernel_dirs = ["/nonexistent/kernels"]
search_jupyter_kernel_dirs_only(kept)
print(json.dumps({"found": found, "ipython": "IPython" in sys.modules, "kept": kept.kernel_spec_manager.kernel_dirs}))
`;
      const r = spawnSync(jupyterPython(), ["-c", script], { env: kernel.env, encoding: "utf8" });
      expect({ status: r.status, stderr: r.stderr }).toMatchObject({ status: 0 }); // stderr shown when it is not
      const seen = JSON.parse(r.stdout);
      expect(seen.found).toBe(path.join(kernel.env.JUPYTER_DATA_DIR as string, "kernels", "tslab-ipc"));
      expect(seen.ipython).toBe(false);
      expect(seen.kept).toEqual(["/nonexistent/kernels"]);
    } finally {
      kernel.dispose();
    }
  },
  60_000,
);

// A run stopped (Ctrl-C) while jupyter_client writes the kernel's connection file: left unnamed,
// jupyter_client names the file as it writes it (tempfile.mkstemp in the temp folder) and marks
// it written only after, so the runners' cleanup (cleanup_connection_file) left it there, with the
// kernel's key: the release test's Ctrl-C found a tmp*.json in its temp folder. The runners name
// the file first (kernel_start.name_connection_file), and remove_connection_file finds it. The
// interrupt comes from a write that raises KeyboardInterrupt once the file is on disk.
maybe(
  `a run stopped while the connection file is written leaves no file, where jupyter_client's own cleanup did${skipNote}`,
  () => {
    const kernel = projectKernel();
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "tslab-ipc-connection-file-"));
    try {
      const script = `
import json, os, sys
sys.path.insert(0, ${JSON.stringify(path.join(__dirname, "..", "..", "src", "jupyter"))})
import nbformat
import jupyter_client.connect as connect
from nbclient import NotebookClient
from kernel_start import name_connection_file, remove_connection_file
write = connect.write_connection_file
def interrupted_write(*args, **kwargs):
    write(*args, **kwargs)
    raise KeyboardInterrupt
connect.write_connection_file = interrupted_write
seen = {}
for how in ("unnamed", "named"):
    km = NotebookClient(nbformat.v4.new_notebook(), kernel_name="tslab-ipc").create_kernel_manager()
    if how == "named":
        name_connection_file(km)
        seen["named in"] = os.path.dirname(km.connection_file)
    try:
        km.write_connection_file()
    except KeyboardInterrupt:
        pass
    seen[how + " written"] = sorted(os.listdir(${JSON.stringify(tmp)}))
    (km.cleanup_connection_file if how == "unnamed" else lambda: remove_connection_file(km))()
    seen[how + " after cleanup"] = sorted(os.listdir(${JSON.stringify(tmp)}))
    for name in os.listdir(${JSON.stringify(tmp)}):
        os.remove(os.path.join(${JSON.stringify(tmp)}, name))
print(json.dumps(seen))
`;
      const r = spawnSync(jupyterPython(), ["-c", script], { env: { ...kernel.env, TMPDIR: tmp }, encoding: "utf8" });
      expect({ status: r.status, stderr: r.stderr }).toMatchObject({ status: 0 }); // stderr shown when it is not
      const seen = JSON.parse(r.stdout);
      expect(seen["named in"]).toBe(tmp);
      // jupyter_client's own cleanup leaves the file it wrote under a name it had not yet kept.
      expect(seen["unnamed written"]).toEqual([expect.stringMatching(/^tmp.*\.json$/)]);
      expect(seen["unnamed after cleanup"]).toEqual(seen["unnamed written"]);
      // Named first, the file is found and removed.
      expect(seen["named written"]).toEqual([expect.stringMatching(/^kernel-[0-9a-f-]+\.json$/)]);
      expect(seen["named after cleanup"]).toEqual([]);
    } finally {
      kernel.dispose();
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  },
  60_000,
);
