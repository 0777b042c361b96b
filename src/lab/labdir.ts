// One fresh temporary folder per process (per kernel run) for what notebook cells make:
// key files for ftok, FIFOs, compiled C programs. Removed when the process ends (an exit hook of
// src/process/lifecycle.ts). A process killed by SIGKILL leaves its folder behind; the next
// labDir() of any process removes folders whose owning process is gone (the pid is in the
// folder's name).
import fs from "fs";
import os from "os";
import path from "path";
import { onExit } from "../process/lifecycle";
import { isAlive } from "../sys/registry";

const PREFIX = "tslab-ipc-lab-";

let current: string | null = null;


/** Removes lab folders left by processes that died without running their exit handler. */
function removeOrphans(): void {
  let names: string[];
  try {
    names = fs.readdirSync(os.tmpdir());
  } catch {
    return;
  }
  for (const name of names) {
    const m = new RegExp(`^${PREFIX}(\\d+)-`).exec(name);
    if (!m || Number(m[1]) === process.pid || isAlive(Number(m[1]))) continue;
    try {
      fs.rmSync(path.join(os.tmpdir(), name), { recursive: true, force: true });
    } catch {
      /* someone else's, or already gone */
    }
  }
}

function removeCurrent(): void {
  if (current === null) return;
  try {
    fs.rmSync(current, { recursive: true, force: true });
  } catch {
    /* already gone */
  }
  current = null;
}

/**
 * This process's lab folder (created 0700 on first call; the same folder on every later
 * call), removed with everything in it when the process exits.
 *
 *   const keyFile = path.join(labDir(), "shmdemo.c");
 */
export function labDir(): string {
  if (current !== null && fs.existsSync(current)) return current;
  const first = current === null;
  removeOrphans();
  current = fs.mkdtempSync(path.join(os.tmpdir(), `${PREFIX}${process.pid}-`));
  if (first) onExit(removeCurrent);
  return current;
}
