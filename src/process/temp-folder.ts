// A temporary folder that lives as long as the work that made it, and never longer than the
// process: removed by its owner when the work is done, or by an exit hook of process/lifecycle
// when the process ends first (Ctrl-C of `npm start` or `release`, a closed terminal, a
// kernel's shutdown). A try/finally alone is not enough: a process that dies of a signal runs
// no finally block.
//
// Invariants:
// - The folder is made by mkdtemp (0700, a fresh name): nobody else owns or shares it.
// - It is removed at most once, with everything in it; `before` (if given) runs first, on both
//   paths, so that whatever writes into the folder (a browser) is stopped before it goes.
// - A process killed by SIGKILL runs no hook and leaves the folder (in the temp directory).
import fs from "fs";
import os from "os";
import path from "path";
import { onExit } from "./lifecycle";

export interface TempFolder {
  /** The folder's absolute path. */
  readonly path: string;
  /** Removes the folder now (and forgets its exit hook); later calls do nothing. */
  remove(): void;
}

/**
 * Makes `<parent>/<prefix>XXXXXX` (parent: the temp directory) and removes it when `remove()`
 * is called or the process ends, whichever comes first.
 */
export function tempFolder(prefix: string, options: { parent?: string; before?: () => void } = {}): TempFolder {
  const folder = fs.mkdtempSync(path.join(options.parent ?? os.tmpdir(), prefix));
  let removed = false;
  const remove = () => {
    if (removed) return;
    removed = true;
    unregister();
    try {
      options.before?.();
    } finally {
      // Retries: a process stopped by `before` may have had a file half-written a moment ago.
      fs.rmSync(folder, { recursive: true, force: true, maxRetries: 3 });
    }
  };
  const unregister = onExit(remove);
  return { path: folder, remove };
}
