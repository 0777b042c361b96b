#!/usr/bin/python3
"""`npm run console`: Jupyter's terminal client (jupyter console) on the TypeScript (IPC) kernel,
with Ctrl-C that interrupts the running cell.

jupyter console 6.4 (Debian 12) through 6.6.3 (the newest) relays Ctrl-C to the kernel only until
its first prompt: prompt_toolkit puts Python's default SIGINT handler back when a prompt ends, so
Ctrl-C during a cell raises KeyboardInterrupt in the client ("KeyboardInterrupt escaped
interact()") and the kernel keeps running (jupyter/jupyter_console#296, the same with ipykernel).
Here the client's own relay (ZMQTerminalIPythonApp.handle_sigint: interrupt_kernel() while a cell
runs) is put back for the duration of each cell. Everything else is jupyter console unchanged;
arguments are passed on (the kernel is tslab-ipc unless --kernel names another).
"""
import signal
import sys

from jupyter_console.app import ZMQTerminalIPythonApp
from jupyter_console.ptshell import ZMQTerminalInteractiveShell

_run_cell = ZMQTerminalInteractiveShell.run_cell


def run_cell(self, cell, store_history=True):
    previous = signal.signal(signal.SIGINT, ZMQTerminalIPythonApp.instance().handle_sigint)
    try:
        return _run_cell(self, cell, store_history)
    finally:
        signal.signal(signal.SIGINT, previous)


ZMQTerminalInteractiveShell.run_cell = run_cell

if __name__ == "__main__":
    argv = sys.argv[1:]
    if not any(a == "--kernel" or a.startswith("--kernel=") or a.startswith("--existing") for a in argv):
        argv = ["--kernel", "tslab-ipc"] + argv
    ZMQTerminalIPythonApp.launch_instance(argv=argv)
