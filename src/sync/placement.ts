// Where a synchronisation object may live: inside shared memory the caller owns, at an aligned
// offset, in bounds, readable and writable. Checked before any call that touches the memory,
// because a futex or pthread call on memory that is not there kills the process (the kernel).
import { IpcError, detachedError } from "../errors";
import { determineSpecificType } from "../codes";
import { validateInteger } from "../validators";
import { MAP_PRIVATE, PROT_READ, PROT_WRITE } from "../sys/constants";
import { Mapping } from "../sys/mman";
import { Region } from "../sys/region";

/** Validates region and offset for an object of `size` bytes aligned to `align`; returns the offset. */
export function checkPlacement(region: unknown, offset: unknown, size: number, align: number, what: string): number {
  if (!(region instanceof Region)) {
    throw new TypeError(
      `The "region" argument must be a Region (an Attachment from shmat or a Mapping from mmap). Received ${determineSpecificType(region)}`,
    );
  }
  if (region instanceof Mapping && (region.flags & MAP_PRIVATE) !== 0) {
    throw new TypeError(`The "region" argument must be shared memory: a ${what} in a MAP_PRIVATE mapping is seen by no other process`);
  }
  const at = validateInteger(offset, "offset", 0);
  if (at % align !== 0) {
    throw new RangeError(`The value of "offset" must be a multiple of ${align} for a ${what}. Received ${at}`);
  }
  if (at + size > region.length) {
    throw new RangeError(
      `The value of "offset" is out of range. A ${what} needs ${size} bytes at ${at}, but the region is ${region.length} bytes`,
    );
  }
  checkUsable(region, what, at, size);
  return at;
}

/**
 * The memory is still there, readable and writable, and (for a file mapping) still has file
 * behind [offset, offset + size): a file truncated under a mapping raises SIGBUS on touch.
 * Run on every operation: cheap, but for file mappings one fstat.
 */
export function checkUsable(region: Region, what: string, offset: number, size: number): void {
  if (!region.attached) throw detachedError(`the region of this ${what}`, "use it");
  if ((region.prot & (PROT_READ | PROT_WRITE)) !== (PROT_READ | PROT_WRITE)) {
    throw new IpcError(
      "EACCES",
      `EACCES: permission denied, a ${what} needs memory that is readable and writable (this region is ` +
        `${region.prot & PROT_WRITE ? "not readable" : "read-only"}; in C this access raises SIGSEGV)`,
      { errno: 13 },
    );
  }
  if (region instanceof Mapping && region.path !== null) region.assertTouchable(offset, size, true, `use a ${what}`);
}
