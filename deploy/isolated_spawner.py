"""One Unix account, one IPC world and one set of limits per student (JupyterHub 3.0 spawner).

Invariants:
- A student's server, its kernels and every child of theirs run as the Unix account
  `jupyter-<name>` (the way The Littlest JupyterHub names and creates them), in one cgroup per
  controller that limits memory, tasks and CPU, and, where the machine allows namespaces, in an
  IPC namespace and a mount namespace of their own: a tmpfs `/dev/shm` of `shm_limit` bytes, the
  namespace's `shmmax`/`shmall` at the same figure, and a private `/tmp`.
- Nothing a student starts outlives `stop()`: the student's cgroup is emptied with SIGKILL, so the
  namespaces die with their last process and take every segment and `/dev/shm` file with them,
  whatever killed (or failed to kill) the kernels.
- Where namespaces are refused (`probe()` says why, once, at hub start), `stop()` kills the
  student's processes and removes the System V segments and `/dev/shm` files their account owns
  ("per-user reaping"); without root it removes only what the server's own processes created.
- The hub writes into a student's home only what is not there yet, never through a link.
"""

import grp
import hashlib
import os
import pwd
import shutil
import signal
import subprocess
import time

from jupyterhub.spawner import LocalProcessSpawner, set_user_setuid
from traitlets import Bool, Integer, Unicode

HERE = os.path.dirname(os.path.abspath(__file__))
# The checkout's folders that hold the course's solutions: enter-world.sh hides them in a
# student's world; without one, only their modes keep students out.
SOLUTION_FOLDERS = ("notebooks", "out", "test", ".git")
ENTER_WORLD = os.path.join(HERE, "enter-world.sh")
ACCOUNT_PREFIX = "jupyter-"
FIRST_STUDENT_UID = 1000  # Debian's UID_MIN: below it are system accounts, never a student's
ACCOUNT_NAME_MAX = 32  # useradd's limit on Debian
CGROUP_ROOT = "/sys/fs/cgroup"
CGROUP_CONTROLLERS = ("memory", "pids", "cpu")
CPU_PERIOD_US = 100_000
IS_ROOT = os.geteuid() == 0
# A student's kernels: sockets no other user can reach, new ports at a restart (student_kernels.py).
STUDENT_KERNEL_MANAGER = "student_kernels.StudentKernelManager"


def server_args():
    """What a student's server is started with beyond JupyterHub's own arguments."""
    return [f"--MappingKernelManager.kernel_manager_class={STUDENT_KERNEL_MANAGER}"]


def parse_bytes(text):
    """'2G', '512M', '1048576' -> bytes (binary units, as `ulimit` and Kubernetes' Gi read them)."""
    text = str(text).strip().upper().rstrip("IB")
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
    if text and text[-1] in units:
        return int(float(text[:-1]) * units[text[-1]])
    return int(text)


def system_username(name, prefix=ACCOUNT_PREFIX):
    """TLJH's mapping: `jupyter-<name>`, shortened with a hash where useradd's limit requires."""
    full = prefix + name
    if not prefix or len(full) < ACCOUNT_NAME_MAX - 6:  # a login account's name is what it is
        return full
    return full[: ACCOUNT_NAME_MAX - 7] + "-" + hashlib.sha256(full.encode()).hexdigest()[:5]


def _own_cgroup(controller):
    """This process's cgroup for a controller (v1), or for the unified hierarchy (v2: '')."""
    with open("/proc/self/cgroup") as f:
        for line in f:
            _, names, path = line.rstrip("\n").split(":", 2)
            if controller in names.split(",") or (controller == "" and names == ""):
                return path
    return None


class Cgroups:
    """The cgroups of one hub (below the hub's own), one leaf per student and controller."""

    def __init__(self, hub_id):
        self.version = None
        self.bases = {}  # controller -> directory of this hub's cgroups
        self.reason = ""
        name = "tslab-ipc-hub-" + hub_id
        if os.path.exists(os.path.join(CGROUP_ROOT, "cgroup.controllers")):
            self.version = 2
            base = os.path.join(CGROUP_ROOT, (_own_cgroup("") or "/").lstrip("/"), name)
            try:
                os.makedirs(base, exist_ok=True)
                with open(os.path.join(base, "cgroup.controllers")) as f:
                    available = f.read().split()
                wanted = [c for c in CGROUP_CONTROLLERS if c in available]
                with open(os.path.join(base, "cgroup.subtree_control"), "w") as f:
                    f.write(" ".join("+" + c for c in wanted))
                self.bases = {c: base for c in wanted}
            except OSError as e:
                self.reason = f"cgroup v2 at {base}: {e.strerror}"
            return
        self.version = 1
        for controller in CGROUP_CONTROLLERS:
            own = _own_cgroup(controller)
            top = os.path.join(CGROUP_ROOT, controller)
            if own is None or not os.path.isdir(top):
                continue
            base = os.path.join(top, own.lstrip("/"), name)
            try:
                os.makedirs(base, exist_ok=True)
                self.bases[controller] = base
            except OSError as e:
                self.reason += f"{controller}: {e.strerror}; "

    def leaves(self, account):
        """The student's cgroup directories (one per hierarchy)."""
        return sorted({os.path.join(base, account) for base in self.bases.values()})

    def create(self, account, memory, tasks, cpus):
        """Makes the student's leaves and writes the limits; returns the directories to join."""
        limits = []
        for controller, base in self.bases.items():
            leaf = os.path.join(base, account)
            os.makedirs(leaf, exist_ok=True)
            if controller == "memory":
                limits.append((leaf, "memory.max" if self.version == 2 else "memory.limit_in_bytes", str(memory)))
                if self.version == 1 and os.path.exists(os.path.join(leaf, "memory.memsw.limit_in_bytes")):
                    # Without swap accounting set too, a segment could push the rest into swap.
                    limits.append((leaf, "memory.memsw.limit_in_bytes", str(memory)))
            elif controller == "pids":
                limits.append((leaf, "pids.max", str(tasks)))
            elif controller == "cpu" and cpus > 0:
                quota = int(cpus * CPU_PERIOD_US)
                if self.version == 2:
                    limits.append((leaf, "cpu.max", f"{quota} {CPU_PERIOD_US}"))
                else:
                    limits.append((leaf, "cpu.cfs_period_us", str(CPU_PERIOD_US)))
                    limits.append((leaf, "cpu.cfs_quota_us", str(quota)))
        for leaf, knob, value in limits:
            with open(os.path.join(leaf, knob), "w") as f:
                f.write(value)
        return self.leaves(account)

    def pids(self, account):
        found = set()
        for leaf in self.leaves(account):
            try:
                with open(os.path.join(leaf, "cgroup.procs")) as f:
                    found.update(int(p) for p in f.read().split())
            except FileNotFoundError:
                pass
        return found

    def empty(self, account, timeout=10.0):
        """SIGKILLs everything in the student's cgroups until none is left, then removes them."""
        deadline = time.monotonic() + timeout
        while True:
            left = self.pids(account)
            if not left or time.monotonic() > deadline:
                break
            for pid in left:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            time.sleep(0.05)
        for leaf in self.leaves(account):
            try:
                os.rmdir(leaf)
            except FileNotFoundError:
                pass
            except OSError:
                # A task still exiting keeps the directory busy for a moment.
                time.sleep(0.2)
                try:
                    os.rmdir(leaf)
                except OSError:
                    pass
        return left

    def remove_all(self):
        """Empties and removes every student's cgroup of this hub, then the hub's own."""
        for base in set(self.bases.values()):
            if os.path.isdir(base):
                for account in os.listdir(base):
                    if os.path.isdir(os.path.join(base, account)):
                        self.empty(account)
        for base in set(self.bases.values()):
            try:
                os.rmdir(base)
            except OSError:
                pass


def probe():
    """Whether a server can get an IPC world of its own here: (True, '') or (False, why)."""
    if not IS_ROOT:
        return False, "the hub does not run as root (unshare --ipc --mount and accounts need root)"
    for tool in ("unshare", "setpriv", "mount"):
        if shutil.which(tool) is None:
            return False, f"{tool} is missing (Debian package util-linux / mount)"
    test = "mount -t tmpfs -o size=1m tslab-ipc-probe /dev/shm && cat /proc/sys/kernel/shmmax > /proc/sys/kernel/shmmax"
    r = subprocess.run(
        ["unshare", "--ipc", "--mount", "--propagation", "private", "/bin/sh", "-c", test],
        capture_output=True, text=True,
    )
    if r.returncode != 0:
        return False, "unshare --ipc --mount is refused here: " + (r.stderr.strip() or f"exit {r.returncode}")
    return True, ""


def descendants(root):
    """The pids below `root` (kernels keep their parent even in a session of their own)."""
    children = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
                children.setdefault(ppid, []).append(int(entry))
            except (OSError, IndexError, ValueError):
                pass
    found, todo = [], [root]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def reap_account(uid, creators=()):
    """Removes System V segments owned by `uid` (or, when uid is None, created by `creators`) and
    the /dev/shm files owned by `uid`. Returns how many of each went."""
    segments = files = 0
    with open("/proc/sysvipc/shm") as f:
        header = f.readline().split()
        for line in f:
            row = dict(zip(header, line.split()))
            if (uid is not None and int(row["uid"]) == uid) or int(row["cpid"]) in creators:
                if subprocess.run(["ipcrm", "-m", row["shmid"]], capture_output=True).returncode == 0:
                    segments += 1
    if uid is not None:
        for name in os.listdir("/dev/shm"):
            path = os.path.join("/dev/shm", name)
            try:
                if os.lstat(path).st_uid == uid and not os.path.isdir(path):
                    os.unlink(path)
                    files += 1
            except FileNotFoundError:
                pass
    return segments, files


class IsolatedSpawner(LocalProcessSpawner):
    """LocalProcessSpawner with TLJH's accounts, an IPC world and limits per student."""

    state_dir = Unicode(config=True, help="The hub's state: per-student /tmp and cgroup names derive from it.")
    homes_dir = Unicode("/home", config=True, help="Where new accounts' homes go.")
    notebooks_dir = Unicode(config=True, help="The notebooks copied into ~/notebooks at first login (the config gives the student versions).")
    kernel_path = Unicode(config=True, help="A Jupyter data dir holding the tslab-ipc kernelspec (JUPYTER_PATH).")
    create_accounts = Bool(IS_ROOT, config=True, help="Run each student as their own account, created at first login if missing.")
    account_prefix = Unicode(ACCOUNT_PREFIX, config=True, help="'jupyter-' as TLJH; '' where students log in with their Unix account (PAM).")
    namespaces = Bool(True, config=True, help="One IPC and mount namespace per server, where the machine allows it.")
    mem_limit_bytes = Integer(2 << 30, config=True)
    tasks_limit = Integer(512, config=True, help="Processes and threads (node counts ~11 threads per process).")
    cpu_limit_cores = Unicode("1", config=True)
    shm_limit_bytes = Integer(1 << 30, config=True, help="/dev/shm size and the namespace's shmmax/shmall.")

    # Decided once per hub: the probe and the cgroups are the machine's, not a student's.
    _isolation = None
    _cgroups = None

    @classmethod
    def isolation(cls, log, state_dir, want_namespaces):
        if cls._isolation is None:
            ok, why = probe() if want_namespaces else (False, "disabled by configuration")
            cgroups = Cgroups(hashlib.sha256(os.path.abspath(state_dir).encode()).hexdigest()[:8]) if IS_ROOT else None
            cls._isolation, cls._cgroups = (ok, why), cgroups
            if ok:
                log.info("tslab-ipc: each server gets its own IPC namespace and /dev/shm")
            else:
                log.warning(
                    "tslab-ipc: NO IPC namespace per student: %s. Students see each other's segments in "
                    "ipcs and share ftok keys and /dev/shm names; what a student's account owns is "
                    "removed when their server stops.", why)
                repo = os.path.dirname(HERE)
                open_to_all = [d for d in SOLUTION_FOLDERS if os.path.isdir(os.path.join(repo, d))
                               and os.stat(os.path.join(repo, d)).st_mode & 0o005]
                if open_to_all:
                    log.warning(
                        "tslab-ipc: students can read the checkout's %s, which hold the solutions and "
                        "hidden tests: close them to other users (chmod o-rwx).", ", ".join(open_to_all))
            if cgroups and cgroups.bases:
                log.info("tslab-ipc: limits through cgroup v%d (%s)", cgroups.version, ", ".join(sorted(cgroups.bases)))
            else:
                log.warning("tslab-ipc: no cgroups here (%s): only the task limit holds, as RLIMIT_NPROC",
                            (cgroups.reason if cgroups else "not root") or "none writable")
        return cls._isolation, cls._cgroups

    _base_cmd = None
    _account = None

    @property
    def account(self):
        if self._account is None:
            self._account = system_username(self.user.name, self.account_prefix) if self.create_accounts else pwd.getpwuid(os.getuid()).pw_name
        return self._account

    def _home(self):
        if self.create_accounts:
            return pwd.getpwnam(self.account).pw_dir
        return os.path.join(self.state_dir, "homes", self.user.name)

    def _private_tmp(self):
        return os.path.join(self.state_dir, "tmp", self.account)

    def _ensure_account(self):
        """TLJH's ensure_user, with no login shell and a home only its owner can enter."""
        try:
            pwd.getpwnam(self.account)
            return
        except KeyError:
            pass
        os.makedirs(self.homes_dir, mode=0o755, exist_ok=True)
        subprocess.run(
            ["useradd", "--create-home", "--home-dir", os.path.join(self.homes_dir, self.account),
             "--shell", "/usr/sbin/nologin", "--user-group", "--comment", f"JupyterHub user {self.user.name}",
             self.account],
            check=True, capture_output=True,
        )
        os.chmod(pwd.getpwnam(self.account).pw_dir, 0o700)
        self.log.info("tslab-ipc: created the account %s for %s", self.account, self.user.name)

    def _copy_notebooks(self, home, uid, gid):
        """Copies the course notebooks into ~/notebooks once: an existing folder is the student's."""
        target = os.path.join(home, "notebooks")
        try:
            os.mkdir(target, 0o700)
        except FileExistsError:
            return
        os.chown(target, uid, gid, follow_symlinks=False)
        for name in sorted(os.listdir(self.notebooks_dir)):
            if not (name.endswith(".ipynb") or name.endswith(".md")):
                continue
            with open(os.path.join(self.notebooks_dir, name), "rb") as src:
                data = src.read()
            fd = os.open(os.path.join(target, name), os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
            try:
                os.write(fd, data)
                os.fchown(fd, uid, gid)
            finally:
                os.close(fd)

    def user_env(self, env):
        home = self._home()
        env["USER"] = self.account
        env["HOME"] = home
        env["SHELL"] = "/bin/bash"  # for notebook terminals; the account itself has no login shell
        if self.kernel_path:
            env["JUPYTER_PATH"] = self.kernel_path
        # The server's kernel manager (student_kernels.py) lives beside this file.
        env["PYTHONPATH"] = os.pathsep.join(p for p in (HERE, env.get("PYTHONPATH")) if p)
        return env

    def get_args(self):
        return super().get_args() + server_args()

    def make_preexec_fn(self, name):
        leaves = self._leaves
        home = self._home()
        tasks = self.tasks_limit
        switch_user = set_user_setuid(self.account) if self.create_accounts and not self._in_world else None
        limit_tasks = self.create_accounts
        import resource

        def preexec():
            for leaf in leaves:
                with open(os.path.join(leaf, "cgroup.procs"), "w") as f:
                    f.write("0")
            if limit_tasks:
                # Per account, so it holds without a pids cgroup too (a fork bomb gets EAGAIN).
                resource.setrlimit(resource.RLIMIT_NPROC, (tasks, tasks))
            os.chdir(home)
            if switch_user:
                switch_user()

        return preexec

    async def start(self):
        (in_world, _), cgroups = self.isolation(self.log, self.state_dir, self.namespaces)
        self._in_world = in_world
        if self.create_accounts:
            self._ensure_account()
            entry = pwd.getpwnam(self.account)
            if entry.pw_uid < FIRST_STUDENT_UID:
                raise RuntimeError(f"tslab-ipc: refusing to run a server as the system account {self.account}")
            uid, gid, home = entry.pw_uid, entry.pw_gid, entry.pw_dir
        else:
            uid, gid, home = os.getuid(), os.getgid(), self._home()
            os.makedirs(home, mode=0o700, exist_ok=True)
        if self.notebooks_dir:
            self._copy_notebooks(home, uid, gid)
        self.notebook_dir = home
        cpus = float(self.cpu_limit_cores or 0)
        self._leaves = cgroups.create(self.account, self.mem_limit_bytes, self.tasks_limit, cpus) if cgroups else []
        if self._base_cmd is None:
            self._base_cmd = list(self.cmd)
        if in_world:
            tmp = self._private_tmp()
            if os.path.commonpath([home, "/tmp"]) == "/tmp":
                # A private /tmp would hide a home that lives under /tmp.
                self.log.warning("tslab-ipc: %s lives under /tmp: the server keeps the shared /tmp", home)
                tmp = "-"
            else:
                os.makedirs(os.path.dirname(tmp), mode=0o700, exist_ok=True)
                shutil.rmtree(tmp, ignore_errors=True)
                os.mkdir(tmp, 0o700)
                os.chown(tmp, uid, gid)
            self.cmd = [
                "unshare", "--ipc", "--mount", "--propagation", "private", "--",
                "/bin/sh", ENTER_WORLD, str(uid), str(gid), str(self.shm_limit_bytes), tmp, "--",
            ] + self._base_cmd
        else:
            self.cmd = self._base_cmd
        return await super().start()

    async def poll(self):
        status = await super().poll()
        if status is not None and getattr(self, "_leaves", None) is not None:
            # The server died on its own: its kernels may still hold the namespace.
            self._clean_world([])
        return status

    async def stop(self, now=False):
        below = descendants(self.pid) if self.pid else []
        await super().stop(now=now)
        self._clean_world(below)

    def _clean_world(self, below):
        (in_world, _), cgroups = self.isolation(self.log, self.state_dir, self.namespaces)
        if cgroups and cgroups.bases:
            left = cgroups.empty(self.account)
            if left:
                self.log.warning("tslab-ipc: %s: processes %s would not die", self.account, sorted(left))
        for pid in below:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if not in_world:
            uid = pwd.getpwnam(self.account).pw_uid if self.create_accounts else None
            segments, files = reap_account(uid, set(below) | ({self.pid} if self.pid else set()))
            if segments or files:
                self.log.info("tslab-ipc: %s: removed %d segment(s) and %d /dev/shm file(s)", self.account, segments, files)
        else:
            shutil.rmtree(self._private_tmp(), ignore_errors=True)
        self._leaves = None


def cleanup_hub(state_dir, accounts=()):
    """Removes what a hub with this state dir left: its cgroups (killing their processes) and the
    given accounts with their homes (tests create accounts and remove them here)."""
    if IS_ROOT:
        Cgroups(hashlib.sha256(os.path.abspath(state_dir).encode()).hexdigest()[:8]).remove_all()
    for account in accounts:
        try:
            pwd.getpwnam(account)
            subprocess.run(["userdel", "--remove", account], capture_output=True)
        except KeyError:
            pass
        try:
            grp.getgrnam(account)
            subprocess.run(["groupdel", account], capture_output=True)
        except KeyError:
            pass


if __name__ == "__main__":
    import sys

    if len(sys.argv) >= 3 and sys.argv[1] == "cleanup":
        cleanup_hub(sys.argv[2], sys.argv[3:])
    else:
        print("usage: isolated_spawner.py cleanup STATE_DIR [ACCOUNT...]", file=sys.stderr)
        sys.exit(2)
