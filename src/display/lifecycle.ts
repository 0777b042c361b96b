// The end of a notebook cell, as the library sees it: live displays (watchIpcs) stop there and
// send their last state while the cell's outputs are still being collected.
//
// The notebook kernel calls cellEnded() when a cell finishes, before it sends the reply (so a
// final update_display_data is part of the cell's outputs). A kernel that never calls it still
// ends a cell's live displays when the next cell installs its display publisher. Listeners live
// on a global symbol: every copy of this library loaded in the process sees the same cell.
import { validateFunction } from "../validators";

/** A function run when the current notebook cell ends. */
export type CellEndListener = () => void;
const LISTENERS = Symbol.for("tslab-ipc.display.cellEndListeners");

interface ListenerSlot {
  [LISTENERS]?: Set<CellEndListener>;
}

function listeners(): Set<CellEndListener> {
  const slot = globalThis as ListenerSlot;
  return (slot[LISTENERS] ??= new Set());
}

/** Runs `listener` once, when the current cell ends. Returns a function that cancels it. */
export function onCellEnd(listener: CellEndListener): () => void {
  validateFunction(listener, "listener");
  const set = listeners();
  set.add(listener);
  return () => {
    set.delete(listener);
  };
}

/** Called by the notebook kernel when a cell has finished: runs (and forgets) every onCellEnd listener. */
export function cellEnded(): void {
  const set = listeners();
  const now = [...set];
  set.clear();
  for (const listener of now) {
    try {
      listener();
    } catch (e) {
      process.stderr.write(`tslab-ipc: a cell-end listener failed: ${e instanceof Error ? e.message : e}\n`);
    }
  }
}
