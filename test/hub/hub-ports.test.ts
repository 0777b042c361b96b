// The hub's own ports (deploy/jupyterhub_config.py): its internal API and the proxy's API are
// ports the system hands out, chosen while JupyterHub reads its config, after the public port
// was chosen and left free for the proxy to bind. A hub whose internal port was the public one
// started a proxy that sent every unrouted request to itself, in a loop, and the hub failed to
// bind (a clean-clone CI run on 6 December). The fixture loads the config as JupyterHub does, in
// a network namespace of its own with four ports to hand out, where the old choice (one port at a
// time, the public one not skipped) gave the same port twice every time.
import { spawnSync } from "child_process";
import path from "path";
import { pythonWith } from "../helpers";

const PY = pythonWith("jupyterhub", "traitlets");
const fixture = path.join(__dirname, "fixtures", "hub_ports.py");
// A network namespace of our own: as root directly, otherwise in a user namespace of our own.
const unshare = process.getuid?.() === 0 ? ["--net"] : ["--map-root-user", "--net"];
const why = !PY
  ? "needs JupyterHub: apt-get install jupyterhub"
  : spawnSync("unshare", [...unshare, "true"]).status !== 0
    ? "unshare --net is refused here"
    : null;
if (why) console.warn(`hub port test skipped: ${why}`);
const maybe = why ? test.skip : test;

maybe("the hub's internal port and the proxy's API port are two free ports, never the public one", () => {
  const r = spawnSync("unshare", [...unshare, PY!, fixture, "40000", "40003", "40001"], {
    encoding: "utf8",
    timeout: 60_000,
  });
  expect(r.stderr).not.toMatch(/Traceback/);
  const ports = JSON.parse(r.stdout.trim().split("\n").pop()!);
  expect(ports.public).toBe(40001);
  expect(new Set([ports.public, ports.hub, ports.proxyApi]).size).toBe(3);
  for (const p of [ports.hub, ports.proxyApi]) expect([40000, 40002, 40003]).toContain(p);
});
