# JupyterHub 3.0 (Debian 12's `jupyterhub`) for a course on one server: `npm run hub`.
#
# Every student's server runs the course notebooks with the "TypeScript (IPC)" kernel, as a Unix
# account of their own (when the hub runs as root: with PAM their login account; otherwise
# jupyter-<name>, created at first login as TLJH does), in an IPC world of their own with limits
# (see isolated_spawner.py). Configured by the environment:
#
#   TSLAB_IPC_HUB_PORT         public port on 127.0.0.1 (8000); TSLAB_IPC_HUB_IP to listen elsewhere
#   TSLAB_IPC_HUB_ADMIN_TOKEN  token of the service "tslab-ipc-admin" (scopes admin:users,
#                              admin:servers, access:servers): scripts drive the REST API with it
#   TSLAB_IPC_HUB_AUTH         pam (default) | dummy (tests; TSLAB_IPC_HUB_DUMMY_PASSWORD is the one
#                              password) | an Authenticator class, e.g. nativeauthenticator.NativeAuthenticator
#   TSLAB_IPC_HUB_STATE        database, cookie secret, pid files, private /tmp dirs, the kernelspec
#                              (/var/lib/tslab-ipc-hub as root, else ~/.local/state/tslab-ipc-hub)
#   TSLAB_IPC_HUB_HOMES        where new accounts' homes go (/home; STATE/homes with dummy auth)
#   TSLAB_IPC_HUB_ADMINS       hub admins, comma-separated
#   TSLAB_IPC_HUB_MEM_LIMIT 2G, TSLAB_IPC_HUB_TASKS_LIMIT 512, TSLAB_IPC_HUB_CPU_LIMIT 1 (cores),
#   TSLAB_IPC_HUB_SHM_LIMIT 1G: per student
#   TSLAB_IPC_HUB_NAMESPACES   0 to turn the IPC namespaces off (the fallback: reaping at stop)
import json
import logging
import os
import socket
import subprocess
import sys

c = get_config()  # noqa: F821 (JupyterHub's config loader defines it)

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)
from isolated_spawner import IS_ROOT, IsolatedSpawner, parse_bytes  # noqa: E402

env = os.environ.get
default_state = "/var/lib/tslab-ipc-hub" if IS_ROOT else os.path.expanduser("~/.local/state/tslab-ipc-hub")
state = os.path.abspath(env("TSLAB_IPC_HUB_STATE") or default_state)
# 0711: student servers pass through to the kernelspec and (in tests) their homes, and list nothing.
os.makedirs(state, mode=0o711, exist_ok=True)
os.chmod(state, 0o711)
auth = env("TSLAB_IPC_HUB_AUTH") or "pam"


def free_ports(count, avoid):
    """`count` distinct free ports on 127.0.0.1, none of them in `avoid`: the hub's internal API
    and the proxy's, so two hubs on one machine never clash. All are held until all are chosen,
    and a port in `avoid` is skipped: the system hands a port out again once it is free, and the
    public port is free until the proxy binds it. A hub whose own port was the public one made
    the proxy send every unrouted request to itself, in a loop, and failed to start (CI,
    6 December)."""
    held, ports = [], []
    try:
        while len(ports) < count:
            s = socket.socket()
            held.append(s)
            s.bind(("127.0.0.1", 0))
            if s.getsockname()[1] not in avoid:
                ports.append(s.getsockname()[1])
        return ports
    finally:
        for s in held:
            s.close()


# Where it listens, and what it keeps.
public_port = int(env("TSLAB_IPC_HUB_PORT") or 8000)
hub_port, proxy_api_port = free_ports(2, avoid={public_port})
c.JupyterHub.bind_url = f"http://{env('TSLAB_IPC_HUB_IP') or '127.0.0.1'}:{public_port}"
c.JupyterHub.hub_bind_url = f"http://127.0.0.1:{hub_port}"
# The database (users, servers, OAuth clients) is the hub's alone: SQLite makes it, and its
# journals take its mode, with the umask's 0644, where the state folder is 0711 and its path
# known. An empty file is an empty database; an existing one is closed again too.
database = os.path.join(state, "jupyterhub.sqlite")
os.close(os.open(database, os.O_CREAT | os.O_WRONLY | os.O_NOFOLLOW, 0o600))
os.chmod(database, 0o600)
c.JupyterHub.db_url = "sqlite:///" + database
c.JupyterHub.cookie_secret_file = os.path.join(state, "jupyterhub_cookie_secret")
c.JupyterHub.pid_file = os.path.join(state, "jupyterhub.pid")

# The proxy: npm's configurable-http-proxy (Debian's fails on this Node without NODE_PATH).
proxy = os.path.join(REPO, "node_modules", ".bin", "configurable-http-proxy")
c.ConfigurableHTTPProxy.command = [proxy if os.path.exists(proxy) else "configurable-http-proxy"]
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{proxy_api_port}"
c.ConfigurableHTTPProxy.pid_file = os.path.join(state, "jupyterhub-proxy.pid")

# Who may log in.
if auth == "pam":
    c.JupyterHub.authenticator_class = "jupyterhub.auth.PAMAuthenticator"
elif auth == "dummy":
    c.JupyterHub.authenticator_class = "jupyterhub.auth.DummyAuthenticator"
    c.DummyAuthenticator.password = env("TSLAB_IPC_HUB_DUMMY_PASSWORD") or ""
else:
    c.JupyterHub.authenticator_class = auth
c.Authenticator.admin_users = {u.strip() for u in (env("TSLAB_IPC_HUB_ADMINS") or "").split(",") if u.strip()}

# Scripts (adding students, collecting work, the load test) use one service token.
admin_token = env("TSLAB_IPC_HUB_ADMIN_TOKEN")
if admin_token:
    c.JupyterHub.services = [{"name": "tslab-ipc-admin", "api_token": admin_token}]
    c.JupyterHub.load_roles = [{
        "name": "tslab-ipc-admin",
        "scopes": ["admin:users", "admin:servers", "access:servers"],
        "services": ["tslab-ipc-admin"],
    }]

# The kernel: the "TypeScript (IPC)" kernelspec of this checkout, in a data dir the servers see
# through JUPYTER_PATH (so the hub registers nothing machine-wide).
kernels = os.path.join(state, "share", "jupyter")
spec_dir = os.path.join(kernels, "kernels", "tslab-ipc")
os.makedirs(spec_dir, exist_ok=True)
made = subprocess.run(
    ["node", "-e", "process.stdout.write(JSON.stringify(require('./kernel/install.js').kernelSpec()))"],
    cwd=REPO, capture_output=True, text=True,
)
if made.returncode != 0:
    raise SystemExit(f"tslab-ipc: cannot read the kernelspec from kernel/install.js: {made.stderr.strip()}")
spec = made.stdout
with open(os.path.join(spec_dir, "kernel.json"), "w") as f:
    json.dump(json.loads(spec), f, indent=2)
for d in (os.path.join(state, "share"), kernels, os.path.join(kernels, "kernels"), spec_dir):
    os.chmod(d, 0o755)
os.chmod(os.path.join(spec_dir, "kernel.json"), 0o644)

# The servers: Notebook 6.4 single-user servers, one account, IPC world and set of limits each.
c.JupyterHub.spawner_class = IsolatedSpawner
c.IsolatedSpawner.state_dir = state
# With PAM a student's login is already their one Unix account: the server runs as it. Other
# authenticators know names only: the server runs as jupyter-<name>, created at first login (TLJH).
c.IsolatedSpawner.account_prefix = "" if auth == "pam" else "jupyter-"
c.IsolatedSpawner.homes_dir = env("TSLAB_IPC_HUB_HOMES") or (os.path.join(state, "homes") if auth == "dummy" else "/home")
# A student's ~/notebooks, at first login: the student versions of the course notebooks
# (solutions stubbed, hidden tests removed), made anew at each start. The sources hold every
# solution and hidden test; they were what students got until 6 December.
released = os.path.join(state, "notebooks")
made = subprocess.run(
    ["node", os.path.join(HERE, "student-notebooks.js"), os.path.join(REPO, "notebooks"), released],
    capture_output=True, text=True,
)
if made.returncode != 0:
    raise SystemExit(f"tslab-ipc: no notebooks for the students: {made.stderr.strip()}")
c.IsolatedSpawner.notebooks_dir = released
c.IsolatedSpawner.kernel_path = kernels
c.IsolatedSpawner.namespaces = env("TSLAB_IPC_HUB_NAMESPACES") != "0"
c.IsolatedSpawner.mem_limit_bytes = parse_bytes(env("TSLAB_IPC_HUB_MEM_LIMIT") or "2G")
c.IsolatedSpawner.tasks_limit = int(env("TSLAB_IPC_HUB_TASKS_LIMIT") or 512)
c.IsolatedSpawner.cpu_limit_cores = env("TSLAB_IPC_HUB_CPU_LIMIT") or "1"
c.IsolatedSpawner.shm_limit_bytes = parse_bytes(env("TSLAB_IPC_HUB_SHM_LIMIT") or "1G")
c.Spawner.default_url = "/tree/notebooks"

# Say at start whether students get IPC worlds of their own here (JupyterHub's logging is not set
# up yet while it reads this file).
log = logging.getLogger("tslab-ipc")
if not log.handlers:
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("[%(levelname).1s %(asctime)s tslab-ipc] %(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False
IsolatedSpawner.isolation(log, state, c.IsolatedSpawner.namespaces)
# A class logging in at once on a small machine: 20 servers start on 2 cores in ~1-2 min.
c.Spawner.http_timeout = 180
c.Spawner.start_timeout = 300
