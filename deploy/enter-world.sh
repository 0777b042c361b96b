#!/bin/sh
# Sets up a student's IPC world and becomes the student:
#
#   unshare --ipc --mount --propagation private -- enter-world.sh UID GID SHM_BYTES TMP_DIR -- COMMAND...
#
# Runs as root inside the fresh namespaces (unshare execs it in place, so the pid the hub tracks
# is the server's). A tmpfs of SHM_BYTES on /dev/shm and the namespace's shmmax/shmall at the
# same figure: a segment or POSIX object larger than the student's share fails in their world
# (shmget: EINVAL or ENOSPC; /dev/shm: ENOSPC) instead of eating the machine's memory. TMP_DIR
# ("-": none) becomes /tmp, as systemd's PrivateTmp does, so fixed /tmp paths in notebooks never collide
# between students. The checkout's folders that hold the course's solutions are hidden. Mounts
# are private: nothing here is seen outside, and all of it goes when the namespace's last process
# exits. Then setpriv drops to the student for good (no_new_privs: no setuid program gets root
# back) and execs the server.
set -eu
uid=$1 gid=$2 shm_bytes=$3 tmp_dir=$4
shift 4
[ "${1:-}" = "--" ] && shift

page_size=$(getconf PAGESIZE)
repo=$(cd "$(dirname "$0")/.." && pwd -P) # the checkout the kernel runs from
mount -t tmpfs -o "size=$shm_bytes,mode=1777,nosuid,nodev" tslab-ipc-shm /dev/shm
if [ "$tmp_dir" != "-" ]; then
  # A checkout that itself lives in /tmp (a CI clone, say) would vanish under the private /tmp,
  # and with it the kernel: park it on /dev/shm, then bind it back at its path.
  case "$repo" in
  /tmp/*)
    mkdir /dev/shm/.tslab-ipc-repo
    mount --bind "$repo" /dev/shm/.tslab-ipc-repo
    mount --bind "$tmp_dir" /tmp
    mkdir -p "$repo"
    mount --bind /dev/shm/.tslab-ipc-repo "$repo"
    umount /dev/shm/.tslab-ipc-repo
    rmdir /dev/shm/.tslab-ipc-repo
    ;;
  *) mount --bind "$tmp_dir" /tmp ;;
  esac
fi
# The checkout's folders that hold the course's solutions (the notebooks' sources, the executed
# handouts, the tests' fixtures, the history) are empty and read-only in the student's world: the
# kernel runs from the checkout, so the student can read it, and needs none of these.
for hidden in notebooks out test .git; do
  if [ -d "$repo/$hidden" ]; then
    mount -t tmpfs -o ro,size=4k,mode=0555,nosuid,nodev,noexec tslab-ipc-hidden "$repo/$hidden"
  fi
done
echo "$shm_bytes" > /proc/sys/kernel/shmmax
echo $((shm_bytes / page_size)) > /proc/sys/kernel/shmall

exec setpriv --reuid="$uid" --regid="$gid" --init-groups --no-new-privs -- "$@"
