// @ts-check
// The kernel's five Jupyter sockets, made from the connection file and bound before anything
// else the kernel does (kernel/main.js calls bindKernelSockets first; IpcZmqServer.init in
// kernel/handler.js starts reading them once the handler is ready).
//
// Why first: jupyter_client connects its sockets as soon as it has started the kernel, long
// before the kernel listens, and zeromq retries a refused connection only after its reconnect
// interval (100 ms) plus a random jitter of up to as much again (libzmq's
// stream_connecter_base_t::get_new_reconnect_ivl): the first retry after the ports listen comes
// 0-200 ms later, ~78 ms on average. zeromq 6 binds on libuv's thread pool, so ports bound
// here listen while the main thread loads the library and the converter (~70-110 ms of a start
// from the snapshot), and the client's wait for a retry runs beside that work, not after it.
//
// Invariants: nothing reads a socket before its bind has settled (a receive while a bind is
// settling is refused with EBUSY, "Socket is blocked by a bind or unbind operation", and would
// end the read loop); requests that arrive meanwhile wait in zeromq. Options that must precede
// a client's connection (the iopub queue's bound) are set before the bind.
// https://jupyter-client.readthedocs.io/en/latest/kernels.html#connection-files

const fs = require("fs");
const path = require("path");

/**
 * The iopub socket's own queue per subscriber (zeromq's send high-water mark). zeromq's default
 * (1000) drops a cell's output for a slow client; unbounded lets a client that never reads
 * grow the kernel without limit. Streams are coalesced into chunks of at most 64 KiB.
 */
const IOPUB_HIGH_WATER_MARK = 10_000;

/** The five sockets, by the names the connection file gives their ports. */
const SOCKET_NAMES = /** @type {const} */ (["iopub", "shell", "control", "stdin", "hb"]);

/**
 * @typedef {{ transport: string, ip: string, key: string, iopub_port: number, shell_port: number,
 *   control_port: number, stdin_port: number, hb_port: number, [field: string]: unknown }} ConnectionInfo
 * @typedef {{ iopub: any, shell: any, control: any, stdin: any, hb: any }} KernelSockets zeromq 6 sockets
 * @typedef {{ connInfo: ConnectionInfo, sockets: KernelSockets, bound: Promise<void> }} BoundSockets
 */

/** tslab's own zeromq, loaded as tslab loads it: the one whose sockets tslab's server expects. */
function tslabZeromq() {
  return require(require.resolve("zeromq", { paths: [path.dirname(require.resolve("tslab/package.json"))] }));
}

/**
 * The address of one socket, as jupyter_client makes it (`_make_url`): `tcp://IP:PORT`, or for
 * any other transport `ipc://PATH-PORT`. With "ipc" the sockets are Unix sockets beside the
 * connection file, in the user's runtime folder (mode 0700): unlike a port of 127.0.0.1, no
 * other user of the machine can connect to them and read iopub (every cell's code and output).
 * @param {ConnectionInfo} connInfo @param {typeof SOCKET_NAMES[number]} name
 */
function socketAddress(connInfo, name) {
  const port = connInfo[`${name}_port`];
  return connInfo.transport === "tcp"
    ? `tcp://${connInfo.ip}:${port}`
    : `${connInfo.transport}://${connInfo.ip}-${port}`;
}

/**
 * Reads the connection file, makes the kernel's sockets (tslabZeromq)
 * and starts binding each to its port.
 * @param {string} configPath the connection file Jupyter wrote
 * @returns {BoundSockets} `bound` settles when every bind has: rejected if any failed (a port
 *   taken between Jupyter choosing it and the kernel binding it). Whoever awaits it handles the
 *   failure; a failure nobody has awaited yet is not an unhandled rejection.
 * @throws the connection file's read or parse error, synchronously
 */
function bindKernelSockets(configPath) {
  const connInfo = /** @type {ConnectionInfo} */ (JSON.parse(fs.readFileSync(configPath, "utf-8")));
  const zmq = tslabZeromq();
  /** @type {KernelSockets} */
  const sockets = {
    // XPUB: a publisher that also reports its subscribers (handler.js's IOPUB_JOIN_WAIT_MS).
    iopub: new zmq.XPublisher({ sendHighWaterMark: IOPUB_HIGH_WATER_MARK }),
    shell: new zmq.Router(),
    control: new zmq.Router(),
    stdin: new zmq.Router(),
    hb: new zmq.Reply(),
  };
  const bound = Promise.all(SOCKET_NAMES.map((name) => sockets[name].bind(socketAddress(connInfo, name)))).then(
    () => {},
  );
  bound.catch(() => {});
  return { connInfo, sockets, bound };
}

module.exports = { bindKernelSockets, socketAddress, tslabZeromq, SOCKET_NAMES, IOPUB_HIGH_WATER_MARK };
