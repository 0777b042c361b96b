// Ping-pong over a pipe in Node, for scale beside the shared-memory ping-pong: the parent
// writes one byte to a child's stdin, the child echoes it on stdout, as Node programs usually
// talk to a helper process (event loop, no shared memory).
//
// Usage: node node-pipe.js <seconds>   prints {"samples":[round trips per second per 100 ms], "trips": n}

const { spawn } = require("child_process");
const { emit, Windows } = require("./common");

if (process.argv[2] === "child") {
  process.stdin.on("data", (chunk) => process.stdout.write(chunk));
} else {
  const seconds = Number(process.argv[2]);
  const child = spawn(process.execPath, [__filename, "child"], { stdio: ["pipe", "pipe", "inherit"] });
  const one = Buffer.from([1]);
  let windows = null;
  let warm = 200; // the first round trips start the child's event loop and the JIT: not counted
  child.stdout.on("data", (chunk) => {
    // One byte out, one byte back: a chunk carries what was sent, one byte.
    if (warm > 0) {
      warm -= chunk.length;
      if (warm <= 0) windows = new Windows(seconds);
    } else if (!windows.tick(chunk.length)) {
      emit(windows.result());
      child.stdin.end();
      return;
    }
    child.stdin.write(one);
  });
  child.stdin.write(one);
}
