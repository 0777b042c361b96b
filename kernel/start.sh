#!/bin/sh
# The kernel's command (kernel.json): start.sh NODE CONNECTION_FILE.
# Runs kernel/main.js with NODE, from a start-up snapshot of the kernel when there is one for
# this very Node binary and this checkout (see kernel/snapshot.js), else without. exec keeps the
# process Jupyter started, so its interrupts and signals reach node itself. The snapshot is
# the user's own (their cache folder and the blob both theirs) or the machine's (folder and blob
# root's, writable by root only), whichever is newer: a blob is code, and no other user can
# have written either.
node=$1
shift
here=${0%/*}
# glibc's malloc of the kernel, tuned for memory and start-up unless the user chose (main.js takes the
# settings made here out of its environment, so the kernel's children, the labs' programs whose
# page faults and timings the notebooks measure, run with the user's):
# - two arenas: glibc gives each thread that allocates its own (up to 8 per core), and the
#   kernel's threads (V8's helpers, libuv's pool, zeromq's, the interrupt watchdog) left memory
#   spread over them. Through jupyter_client, 4 kernels a way: 221 -> 218 MiB after the first
#   cell, 285 -> 276 MiB after 90 more; cells as fast.
# - blocks of 128 KiB and more always mapped and unmapped: by default glibc raises that
#   threshold to the size of each large block freed, after which such blocks stay in the heap
#   once freed. With two arenas, 3 kernels a way: 223 -> 218 MiB after the first cell, 279 ->
#   272 MiB after 90 more; trivial cell 8.41 / 7.97 ms, function 10.04 both, API 12.46 / 11.90.
# - its mapped blocks in transparent huge pages where the system offers them on request
#   (glibc.malloc.hugetlb=1; /sys/kernel/mm/transparent_hugepage/enabled "madvise", as on
#   Debian): Node reads the 43 MB snapshot into one block and copies its 39 MB of V8 data into
#   another, a page fault every 4 KiB, and on a host whose faults cost ~12 us a start took 55,000
#   of them. Measured through jupyter_client, 6 starts a way alternated (2 December): 1.49 ->
#   1.00 s to the first result, faults 55,200-55,600 -> 28,500-29,500, the same 153-156 MiB.
TSLAB_IPC_MALLOC_DEFAULTS=
[ -n "${MALLOC_ARENA_MAX+set}" ] || { MALLOC_ARENA_MAX=2 && TSLAB_IPC_MALLOC_DEFAULTS="MALLOC_ARENA_MAX"; }
[ -n "${MALLOC_MMAP_THRESHOLD_+set}" ] ||
  { MALLOC_MMAP_THRESHOLD_=131072 && TSLAB_IPC_MALLOC_DEFAULTS="$TSLAB_IPC_MALLOC_DEFAULTS MALLOC_MMAP_THRESHOLD_"; }
[ -n "${GLIBC_TUNABLES+set}" ] ||
  { GLIBC_TUNABLES=glibc.malloc.hugetlb=1 && TSLAB_IPC_MALLOC_DEFAULTS="$TSLAB_IPC_MALLOC_DEFAULTS GLIBC_TUNABLES"; }
export MALLOC_ARENA_MAX MALLOC_MMAP_THRESHOLD_ GLIBC_TUNABLES TSLAB_IPC_MALLOC_DEFAULTS
cache=${XDG_CACHE_HOME:-${HOME:+$HOME/.cache}}
system=${TSLAB_IPC_SNAPSHOT_SYSTEM_DIR:-/var/cache/tslab-ipc/snapshot}
# Node refuses a blob when its V8 flags differ from the build's, so NODE_OPTIONS means no snapshot.
if [ "${TSLAB_IPC_SNAPSHOT:-1}" != 0 ] && [ -z "${NODE_OPTIONS:-}" ] &&
  # The blob's name: the Node binary (device, inode, mtime, size) + this folder (device, inode).
  # Node refuses, and ends on, a blob made by another build of Node.
  binary=$(stat -L -c '%d-%i-%Y-%s' -- "$node" 2>/dev/null) &&
  checkout=$(stat -L -c '%d-%i' -- "$here" 2>/dev/null); then
  name="$binary+$checkout.blob"
  blob=
  if [ -n "$cache" ] && [ -O "$cache/tslab-ipc/snapshot" ] && [ -f "$cache/tslab-ipc/snapshot/$name" ] &&
    [ -O "$cache/tslab-ipc/snapshot/$name" ]; then
    blob="$cache/tslab-ipc/snapshot/$name"
  fi
  # The machine's: both a folder and a regular file (no symbolic link) of root, not writable by
  # its group or others; taken when newer than the user's own.
  if [ -f "$system/$name" ] && { [ -z "$blob" ] || [ "$system/$name" -nt "$blob" ]; } &&
    [ "$(find -P "$system" "$system/$name" -maxdepth 0 -user 0 ! -perm /022 \( -type d -o -type f \) 2>/dev/null |
      wc -l)" = 2 ]; then
    blob="$system/$name"
  fi
  [ -n "$blob" ] && exec "$node" --snapshot-blob "$blob" "$here/main.js" "$@"
fi
exec "$node" "$here/main.js" "$@"
