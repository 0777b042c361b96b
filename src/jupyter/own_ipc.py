"""The System V IPC objects this process's uid created, from /proc/sysvipc.

By creator uid (the `cuid` column), which IPC_SET cannot change: outside an IPC namespace of its
own, a run also sees other users' objects (the course server's other kernels), which it did not
make; in a namespace of its own every object is the run's and this uid's, so nothing is dropped.

Used by src/handouts/nbrun.py (the segments a notebook left) and src/assign/grade.py (what a
submission left):

    own_rows("shm")                 # [[key, shmid, perms, ...], ...]; "sem" and "msg" too
"""
import os


def own_rows(kind):
    """The rows (lists of fields) of /proc/sysvipc/<kind> whose cuid is this uid; [] when unreadable."""
    try:
        with open("/proc/sysvipc/" + kind) as f:
            header, *lines = f.read().strip().split("\n")
    except OSError:
        return []
    cuid = header.split().index("cuid")
    uid = os.getuid()
    rows = (line.split() for line in lines)
    return [fields for fields in rows if len(fields) > cuid and int(fields[cuid]) == uid]
