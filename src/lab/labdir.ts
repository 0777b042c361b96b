// One fresh temporary folder per process (per kernel run) for what notebook cells make:
// key files for ftok, FIFOs, compiled C programs. Removed when the process ends (an exit hook of
// src/process/lifecycle.ts). A process killed by SIGKILL leaves its folder behind; the next
// labDir() of any process of this user removes folders whose owning process is gone (the pid is
// in the folder's name).
//
// Lab folders live inside this user's verified private folder in the temp directory
// (src/sys/state-dir.ts): nobody else can plant, swap or share a folder there, so removing an
// orphan never reaches anything but our own files. That folder is on the temp directory's file
// system (not $XDG_RUNTIME_DIR, a small tmpfs), because notebooks measure disk-backed files here.
import fs from "fs";
import path from "path";
import { onExit } from "../process/lifecycle";
import { isAlive } from "../sys/registry";
import { currentUid, tempStateDir } from "../sys/state-dir";

const PREFIX = "tslab-ipc-lab-";
const ORPHAN = new RegExp(`^${PREFIX}(\\d+)-`);

let current: string | null = null;

/** Removes lab folders left in `root` by processes that died without running their exit hooks. */
function removeOrphans(root: string): void {
  let names: string[];
  try {
    names = fs.readdirSync(root);
  } catch {
    return;
  }
  for (const name of names) {
    const m = ORPHAN.exec(name);
    if (!m || Number(m[1]) === process.pid || isAlive(Number(m[1]))) continue;
    const folder = path.join(root, name);
    try {
      // Ours alone, and a real folder: the private root admits nothing else, and we check anyway.
      const st = fs.lstatSync(folder);
      if (!st.isDirectory() || st.uid !== currentUid()) continue;
      fs.rmSync(folder, { recursive: true, force: true });
    } catch {
      /* already gone */
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
  const root = tempStateDir();
  removeOrphans(root);
  current = fs.mkdtempSync(path.join(root, `${PREFIX}${process.pid}-`));
  if (first) onExit(removeCurrent);
  return current;
}
