// Where a synchronisation object may live: inside shared memory the caller owns, at an aligned
// offset, in bounds, readable and writable. Checked before any call that touches the memory,
// because a futex or pthread call on memory that is not there kills the process (the kernel).
import { constants as osConstants } from "os";
import { IpcError, detachedError } from "../errors";
import { ERR_INVALID_ARG_VALUE, ERR_INVALID_ARG_VALUE_RANGE, withCode } from "../codes";
import { validateInteger } from "../validators";
import { MAP_PRIVATE, PROT_READ, PROT_WRITE } from "../sys/constants";
import { Mapping } from "../sys/mman";
import { validateRegion, type Region } from "../sys/region";

/** Validates region and offset for an object of `size` bytes aligned to `align`; returns the offset. */
export function checkPlacement(region_: unknown, offset: unknown, size: number, align: number, what: string): number {
  const region = validateRegion(region_, "region");
  const mapping = region instanceof Mapping ? region : null;
  if (mapping !== null && (mapping.flags & MAP_PRIVATE) !== 0) {
    throw new ERR_INVALID_ARG_VALUE(
      "region",
      region,
      `must be shared memory: a ${what} in a MAP_PRIVATE mapping is seen by no other process`,
    );
  }
  const at = validateInteger(offset, "offset", 0);
  if (at % align !== 0) {
    throw new ERR_INVALID_ARG_VALUE_RANGE("offset", at, `must be a multiple of ${align} for a ${what}`);
  }
  if (at + size > region.length) {
    throw withCode(
      new RangeError(
        `The value of "offset" is out of range. A ${what} needs ${size} bytes at ${at}, but the region is ${region.length} bytes`,
      ),
      "ERR_OUT_OF_RANGE",
    );
  }
  assertReadWritable(region, what, at, size, mapping);
  return at;
}

/**
 * The check a placed object (a word, a lock) makes before each use: assertReadWritable of its
 * bytes. Whether its region is a Mapping is asked here, once: asked on each use, as
 * `instanceof Mapping`, an Attachment's answer walked its prototypes to the regions' end, a
 * Proxy (src/sys/region.ts), and so into V8's runtime, ~35 ns a call.
 */
export function checkBeforeEachUse(region: Region, what: string, offset: number, size: number): () => void {
  const mapping = region instanceof Mapping ? region : null;
  return () => assertReadWritable(region, what, offset, size, mapping);
}

/**
 * The memory is still there, readable and writable, and (for a file mapping) still has file
 * behind [offset, offset + size): a file truncated under a mapping raises SIGBUS on touch.
 * Run on every operation: cheap, but for file mappings one probe. `mapping` is the region when
 * it is a Mapping, else null: asked once, by the caller.
 */
function assertReadWritable(region: Region, what: string, offset: number, size: number, mapping: Mapping | null): void {
  if (!region.attached) throw detachedError(`the region of this ${what}`, "use it");
  if ((region.prot & (PROT_READ | PROT_WRITE)) !== (PROT_READ | PROT_WRITE)) {
    throw new IpcError(
      "EACCES",
      `EACCES: permission denied, a ${what} needs memory that is readable and writable (this region is ` +
        `${region.prot & PROT_WRITE ? "not readable" : "read-only"}; in C this access raises SIGSEGV)`,
      { errno: osConstants.errno.EACCES },
    );
  }
  if (mapping !== null && mapping.path !== null) mapping.assertTouchable(offset, size, true, `use a ${what}`);
}
