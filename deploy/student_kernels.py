"""The kernel manager of a student's server: jupyter_client's own, choosing new ports whenever
it is asked to restart a kernel "with new random ports".

Why: a kernel dies when one of its ports is taken before it can bind it (another process's
connection got the port between the server choosing it and the kernel starting). Notebook's
KernelRestarter then restarts it with new random ports. jupyter_client 7.4 (Debian 12) caches a
kernel's ports instead (KernelManager.cache_ports, on for tcp and not configurable), and the
restart reused them: the kernel died the same way five more times and the student's notebook
lost it (seen in the hub test: EADDRINUSE six times, then 404 for the kernel). Without the cache
the ports are chosen at each start, as jupyter_client did before 6.0, and a restart gets new ones
(test/hub/kernel-ports.test.ts).

IsolatedSpawner puts this folder on the server's PYTHONPATH and names the class in its arguments.
"""
from jupyter_client.ioloop import IOLoopKernelManager
from traitlets import default


class FreshPortsKernelManager(IOLoopKernelManager):
    @default("cache_ports")
    def _default_cache_ports(self):
        return False
