// An address argument (mmap's addr, shmat's shmaddr): null for "anywhere", else user space.
//
// Invariant: an address this returns lies in [0x10000, 2^48). Below 64 KiB is mmap_min_addr's,
// which root may map below: a mapping at page 0 comes back from koffi as a null pointer, and a
// Region over null aborts Node at its first view. A bigint past 2^64 must not wrap to 0 either
// (koffi passes its low 64 bits). shmat's SHM_RND rounds down to SHMLBA, the page size on
// x86_64 and aarch64, which divides 0x10000: a rounded address stays in range too.
import { ERR_INVALID_ARG_TYPE, ERR_OUT_OF_RANGE } from "../codes";
import type { Pointer } from "../ffi/libc";

/** The lowest address a mapping may ask for (mmap_min_addr's default, 64 KiB). */
export const USER_ADDRESS_MIN = 0x10000n;
/** The end of user space on x86_64 and aarch64 (48-bit addresses). */
export const USER_ADDRESS_END = 1n << 48n;

/**
 * `value` as a user-space address, or null when it asks for none (null, undefined, 0, 0n).
 * Throws ERR_INVALID_ARG_TYPE for anything but those and a bigint, ERR_OUT_OF_RANGE for a
 * bigint outside [0x10000, 2^48). Alignment is the caller's to check: mmap wants a page, shmat
 * SHMLBA unless SHM_RND.
 */
export function checkUserAddress(value: unknown, name: string): Pointer | null {
  if (value === null || value === undefined || value === 0 || value === 0n) return null;
  if (typeof value !== "bigint") {
    throw new ERR_INVALID_ARG_TYPE(name, "null, 0 or a bigint address", value);
  }
  if (value < USER_ADDRESS_MIN || value >= USER_ADDRESS_END) {
    throw new ERR_OUT_OF_RANGE(name, "a user-space address from 0x10000 to 0xffffffffffff", value);
  }
  return value;
}
