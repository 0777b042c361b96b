// The first kernel_info reply waits for the client's iopub subscription (kernel/handler.js,
// IOPUB_JOIN_WAIT_MS). jupyter_client counts a kernel as ready only when the busy/idle status
// around its kernel_info reply reaches its iopub socket; a status published before that socket
// joined is lost, and the client waits 0.2 s, asks again, and waits 0.2 s more. Here a client
// sends kernel_info at once and subscribes to iopub only after the kernel has finished its
// prelude (so the kernel would answer at once): the busy status of the reply still reaches it.
// The kernel's timing log says how its wait ended; a wait that ran out before the subscription
// arrived (a machine too busy to connect within 0.5 s) proves nothing either way, and the test
// tries again with a new kernel.
import { type ChildProcess, spawn } from "child_process";
import crypto from "crypto";
import fs from "fs";
import os from "os";
import path from "path";
import { freePort, onFreshPorts, raceTimeout } from "../helpers";

const repo = path.resolve(__dirname, "..", "..");
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { sign } = require("../../kernel/wire");
// tslab's own zeromq, the one the kernel uses.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const zmq = require("../../kernel/sockets").tslabZeromq();
const DELIM = "<IDS|MSG>";

/** The header and content of a message's frames (after any routing frames). */
function parse(frames: Buffer[]): { header: { msg_type: string }; parent: { msg_id?: string }; content: any } {
  const at = frames.findIndex((f) => f.toString() === DELIM);
  const [header, parent, , content] = frames.slice(at + 2, at + 6).map((f) => JSON.parse(f.toString()));
  return { header, parent, content };
}

async function receive(sock: any, ms: number): Promise<Buffer[] | null> {
  return (await raceTimeout<Buffer[]>([sock.receive()], ms)) ?? null;
}

let tmp = "";
let kernel: ChildProcess | null = null;
afterEach(() => {
  kernel?.kill("SIGTERM");
  kernel = null;
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

/**
 * One kernel: kernel_info at once, iopub 50 ms after the prelude. It throws the kernel's bind
 * error when a port freePort found free was taken before the kernel bound it (onFreshPorts).
 */
async function attempt(): Promise<{ log: string; replyType: string | null; statuses: string[] }> {
  kernel?.kill("SIGTERM");
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "tslab-ipc-iopub-"));
  const ports = await Promise.all([0, 1, 2, 3, 4].map(() => freePort()));
  const key = crypto.randomBytes(16).toString("hex");
  const conn = {
    shell_port: ports[0],
    iopub_port: ports[1],
    stdin_port: ports[2],
    control_port: ports[3],
    hb_port: ports[4],
    ip: "127.0.0.1",
    key,
    transport: "tcp",
    signature_scheme: "hmac-sha256",
    kernel_name: "tslab-ipc",
  };
  const connFile = path.join(tmp, "kernel.json");
  fs.writeFileSync(connFile, JSON.stringify(conn));
  kernel = spawn(process.execPath, [path.join(repo, "kernel", "main.js"), connFile], {
    cwd: tmp,
    env: { ...process.env, TSLAB_IPC_SNAPSHOT: "0", TSLAB_IPC_KERNEL_TIMING: "1", HOME: tmp, XDG_CACHE_HOME: tmp },
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  const preludeDone = new Promise<void>((resolve) => {
    kernel?.stderr?.on("data", (d) => {
      stderr += d;
      if (stderr.includes("prelude done")) resolve();
    });
  });
  const exited = new Promise<void>((resolve) => kernel?.once("exit", () => resolve()));

  // linger 0: nothing left to send keeps zeromq's threads (and jest) alive after close.
  const shell = new zmq.Dealer({ linger: 0 });
  const iopub = new zmq.Subscriber({ linger: 0 });
  try {
    shell.connect(`tcp://127.0.0.1:${conn.shell_port}`);
    const msgId = crypto.randomUUID();
    const parts = [
      { msg_id: msgId, msg_type: "kernel_info_request", session: "s", username: "u", date: "", version: "5.3" },
      {},
      {},
      {},
    ].map((p) => JSON.stringify(p));
    // Queued by zeromq until the kernel binds its shell socket.
    await shell.send([DELIM, sign(key, parts), ...parts]);
    await raceTimeout<unknown>([preludeDone, exited], 60_000);
    if (!stderr.includes("prelude done") && stderr.includes("cannot bind the kernel's sockets"))
      throw new Error(stderr);
    expect(stderr).toContain("prelude done");
    // The kernel is up and would answer now; the client's iopub joins 50 ms later (the kernel
    // waits for it at most 500 ms from the prelude's end).
    await new Promise((r) => setTimeout(r, 50));
    iopub.subscribe();
    iopub.connect(`tcp://127.0.0.1:${conn.iopub_port}`);

    const reply = await receive(shell, 10_000);
    const statuses: string[] = [];
    for (;;) {
      const frames = await receive(iopub, 1_000);
      if (!frames) break;
      const msg = parse(frames);
      if (msg.header.msg_type === "status" && msg.parent.msg_id === msgId) statuses.push(msg.content.execution_state);
    }
    return { log: stderr, replyType: reply ? parse(reply).header.msg_type : null, statuses };
  } finally {
    shell.close();
    iopub.close();
  }
}

test("the first kernel_info's busy status reaches a client whose iopub joins after the kernel is up", async () => {
  const waitsOver: string[] = [];
  for (let i = 0; i < 3; i++) {
    const { log, replyType, statuses } = await onFreshPorts(attempt);
    expect(replyType).toBe("kernel_info_reply");
    if (log.includes("iopub wait over")) {
      waitsOver.push(log);
      continue;
    }
    // The kernel held its reply until the subscription arrived, after its prelude.
    expect(log).toMatch(/prelude done[\s\S]*iopub subscribed/);
    expect(statuses).toEqual(["busy", "idle"]);
    return;
  }
  throw new Error(`three kernels' waits ran out before the client's iopub joined:\n${waitsOver.join("\n---\n")}`);
}, 180_000);
