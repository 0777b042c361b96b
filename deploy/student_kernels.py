"""The kernel manager of a student's server: jupyter_client's own, with the kernel's sockets
where no other user can reach them, and new ports whenever it is asked for new ones.

- Sockets: transport "ipc" (Unix sockets), in the student's Jupyter runtime folder (0700). Over
  "tcp" a kernel listens on ports of 127.0.0.1, and any user of the machine may subscribe to its
  iopub port and read every cell the student runs and every output (reading needs no key:
  only sending is signed). Measured on the course machine: another account read
  `const secret_solution = 42` from a kernel's iopub as it ran. jupyter_client names the
  sockets after the connection file, which Notebook 6.4 gives as a relative name: they would land
  in the notebook's folder (the kernel's cwd) while the server looks for them in its own. Here
  they get a short absolute name in the runtime folder (a socket's path has at most 107 bytes).
- Ports: a kernel dies when one of its TCP ports is taken before it can bind it (another
  process's connection got the port between the server choosing it and the kernel starting).
  Notebook's KernelRestarter then restarts it with new random ports. jupyter_client 7.4
  (Debian 12) caches a kernel's ports instead (KernelManager.cache_ports, on for tcp and not
  configurable), and the restart reused them: the kernel died the same way five more times and
  the student's notebook lost it (seen in the hub test: EADDRINUSE six times, then 404 for the
  kernel). Without the cache the ports are chosen at each start, as jupyter_client did before
  6.0, and a restart gets new ones (test/hub/kernel-ports.test.ts). Over "ipc" no port can be
  taken (the names are the folder's), but a course that sets `KernelManager.transport=tcp`
  keeps this.

IsolatedSpawner puts this folder on the server's PYTHONPATH and names the class in its arguments.
"""
import os
import secrets

from jupyter_client.ioloop import IOLoopKernelManager
from jupyter_core.paths import jupyter_runtime_dir
from traitlets import default

# A Unix socket's path, in bytes (sun_path less its NUL). A student whose runtime folder is so
# deep that a socket's path would be longer keeps tcp (the server logs it).
SUN_PATH_MAX = 107
# What jupyter_client appends to the prefix: "-<port>", ports counted from 1 for ipc.
PORT_SUFFIX_MAX = len("-99")


class StudentKernelManager(IOLoopKernelManager):
    def _ipc_prefix(self):
        """Where this kernel's sockets go, less "-<port>": short (a socket's path is bounded),
        absolute, in the runtime folder (0700)."""
        if not hasattr(self, "_prefix"):
            runtime = jupyter_runtime_dir()
            os.makedirs(runtime, mode=0o700, exist_ok=True)
            self._prefix = os.path.join(runtime, "k-%s-ipc" % secrets.token_hex(4))
        return self._prefix

    @default("transport")
    def _default_transport(self):
        if len(os.fsencode(self._ipc_prefix())) + PORT_SUFFIX_MAX <= SUN_PATH_MAX:
            return "ipc"
        self.log.warning("tslab-ipc: kernel sockets over tcp: %s is too deep for a Unix socket's path", jupyter_runtime_dir())
        return "tcp"

    @default("ip")
    def _default_ip(self):
        return self._ipc_prefix() if self.transport == "ipc" else super()._ip_default()

    @default("cache_ports")
    def _default_cache_ports(self):
        return False
