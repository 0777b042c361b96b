// Ping-pong between two Node processes through a System V segment, handing a token back and
// forth with tslab-ipc's wait/notify word (SharedWord, src/sync): the protocol of
// pingpong_futex in bench/c/bench.c, step for step.
//
// Word 0 carries the token: the parent stores odd values, the child answers v with v+1, -1 ends.
// Word 1 is the child's "attached" flag, so the parent can mark the segment for removal.
// Word 2 counts who sleeps on the token (SharedWord's `waitersAt`), so that a notify with
// nobody asleep makes no system call, as in C's glibc semaphores (and in bench.c here).

const path = require("path");
const { spawn } = require("child_process");
const { emit, skip, Windows } = require("./common");

const PAGE = 4096;

function sharedWord(ipc) {
  return typeof ipc.SharedWord === "function" ? ipc.SharedWord : null;
}

/** Waits until the word no longer holds `seen`; returns the new value. */
function waitChange(word, seen) {
  let v;
  while ((v = word.load()) === seen) word.wait(seen);
  return v;
}

async function run(ipc, seconds) {
  const SharedWord = sharedWord(ipc);
  if (!SharedWord) return skip("src/sync not available (no SharedWord exported from the package root)");
  const { shmget, shmat, shmctl, IPC_PRIVATE, IPC_CREAT, IPC_RMID } = ipc;
  const id = shmget(IPC_PRIVATE, PAGE, IPC_CREAT | 0o600);
  const att = shmat(id, null, 0);
  const token = new SharedWord(att, 0, { waitersAt: 8 });
  const ready = new SharedWord(att, 4);
  token.store(0);
  ready.store(0);
  att.writeInt32(8, 0);
  const child = spawn(process.execPath, [__filename, "child", String(id)], {
    env: process.env,
    stdio: ["ignore", "inherit", "inherit"],
  });
  const exited = new Promise((resolve) => child.on("exit", (code, signal) => resolve(code ?? signal)));
  try {
    // The child is attached once it says so: then the segment can go at the last detach.
    waitChange(ready, 0);
    shmctl(id, IPC_RMID);
    let v = 0;
    const windows = new Windows(seconds);
    do {
      for (let k = 0; k < 64; k++) {
        token.store(v + 1);
        token.notify(1);
        v = waitChange(token, v + 1);
      }
    } while (windows.tick(64));
    token.store(-1);
    token.notify(1);
    const how = await exited;
    if (how !== 0) throw new Error(`ping-pong child ended with ${how}`);
    emit(windows.result());
  } finally {
    if (child.exitCode === null) child.kill("SIGKILL");
    try {
      shmctl(id, IPC_RMID);
    } catch {
      /* already removed */
    }
    att.detach();
  }
}

function child(id) {
  const ipc = require(process.env.TSLAB_IPC_LIB || path.join(__dirname, "..", "..", "dist"));
  const att = ipc.shmat(id, null, 0);
  const token = new ipc.SharedWord(att, 0, { waitersAt: 8 });
  const ready = new ipc.SharedWord(att, 4);
  ready.store(1);
  ready.notify(1);
  let seen = 0;
  for (;;) {
    const v = waitChange(token, seen);
    if (v < 0) break;
    seen = v + 1;
    token.store(seen);
    token.notify(1);
  }
  att.detach();
}

if (require.main === module && process.argv[2] === "child") child(Number(process.argv[3]));

module.exports = { run };
