// Ping-pong over a pipe in Node, for scale beside the shared-memory ping-pong: the parent
// writes one byte to a child's stdin, the child echoes it on stdout, as Node programs usually
// talk to a helper process (event loop, no shared memory).
//
// Usage: node node-pipe.js <seconds>   prints {"samples":[round trips per second], "trips": n}
"use strict";
const { spawn } = require("child_process");
const { nowNs, emit } = require("./common");

if (process.argv[2] === "child") {
  process.stdin.on("data", (chunk) => process.stdout.write(chunk));
} else {
  const seconds = Number(process.argv[2]);
  const child = spawn(process.execPath, [__filename, "child"], { stdio: ["pipe", "pipe", "inherit"] });
  const one = Buffer.from([1]);
  let trips = 0;
  let t0 = 0;
  let deadline = 0;
  let warm = 200; // the first round trips start the child's event loop and the JIT: not timed
  child.stdout.on("data", (chunk) => {
    // One byte out, one byte back: a chunk may carry only what was sent.
    for (let i = 0; i < chunk.length; i++) {
      if (warm > 0) {
        warm--;
        if (warm === 0) {
          t0 = nowNs();
          deadline = t0 + seconds * 1e9;
        }
      } else trips++;
    }
    const t = nowNs();
    if (warm === 0 && t >= deadline) {
      emit({ samples: [trips / ((t - t0) / 1e9)], trips });
      child.stdin.end();
      return;
    }
    child.stdin.write(one);
  });
  child.stdin.write(one);
}
