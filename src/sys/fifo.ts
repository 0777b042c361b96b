// mkfifo(path, mode), C-shaped: make a named pipe (FIFO). Node can open, read and write a FIFO
// (fs.openSync with O_NONBLOCK, fs.readSync, fs.writeSync) but has no call to make one.
// Through libc rather than the mkfifo(1) command: one syscall instead of a process, the
// lecture's C name and argument order, and failures as IpcError ('EEXIST', syscall 'mkfifo').
import { errno as lastErrno, fn } from "../ffi/libc";
import { throwErrno } from "../errors";
import { validateCString, validateInteger } from "../validators";

/**
 * mkfifo(path, mode = 0o600): create a FIFO at `path` (the umask applies, as in C). Throws
 * IpcError EEXIST when the path exists. Remove it with fs.unlinkSync.
 */
export function mkfifo(path: string, mode = 0o600): 0 {
  const p = validateCString(path, "path");
  validateInteger(mode, "mode", 0, 0o7777);
  if (fn.mkfifo(p, mode) !== 0) throwErrno(lastErrno(), "mkfifo", { path: p });
  return 0;
}
