#!/bin/sh
# The kernel's command (kernel.json): start.sh NODE CONNECTION_FILE.
# Runs kernel/main.js with NODE, from this user's start-up snapshot of the kernel when there is
# one for this very Node binary and this checkout (see kernel/snapshot.js), else without. exec
# keeps the process Jupyter started, so its interrupts and signals reach node itself.
node=$1
shift
here=${0%/*}
cache=${XDG_CACHE_HOME:-${HOME:+$HOME/.cache}}
# Node refuses a blob when its V8 flags differ from the build's, so NODE_OPTIONS means no snapshot.
if [ "${TSLAB_IPC_SNAPSHOT:-1}" != 0 ] && [ -z "${NODE_OPTIONS:-}" ] && [ -n "$cache" ] &&
  [ -O "$cache/tslab-ipc/snapshot" ]; then
  # The blob's name: the Node binary (device, inode, mtime, size) + this folder (device, inode).
  # Node refuses, and ends on, a blob made by another build of Node.
  binary=$(stat -L -c '%d-%i-%Y-%s' -- "$node" 2>/dev/null) &&
    checkout=$(stat -L -c '%d-%i' -- "$here" 2>/dev/null) &&
    blob="$cache/tslab-ipc/snapshot/$binary+$checkout.blob" &&
    [ -f "$blob" ] && [ -O "$blob" ] &&
    exec "$node" --snapshot-blob "$blob" "$here/main.js" "$@"
fi
exec "$node" "$here/main.js" "$@"
