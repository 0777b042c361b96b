// How a command gets namespaces of its own (unshare), whoever runs it: root, or an instructor's
// or a student's account on a course server.
//
// Invariants:
// - As root, `unshare` is called directly and the command runs as root, as it was called.
// - As a normal user, `unshare` first makes a user namespace in which the caller is root, only
//   so that the command's wrapper may mount (a private /dev/shm, /tmp). The wrapper then execs
//   `asCallerAgain()`, a second user namespace nested in the first that maps the caller's own
//   uid and gid back. From there the command sees who it really is (getuid() is the caller's,
//   its files are its own) and holds no capability over the namespaces made above it, so the
//   kernel checks its IPC objects' and files' modes as for any user: a notebook or a submission
//   behaves as it does for a student, not as for root.
// - Nothing here decides whether a machine allows it: callers try the argv once with `true`.

/** Whether the caller is root (unshare needs no user namespace then). */
function isRoot(): boolean {
  return process.getuid?.() === 0;
}

/**
 * `unshare` with `flags`, up to and including its `--`: as root, directly; as a normal user,
 * inside a user namespace in which the caller is root (so the command after `--` may mount).
 */
export function unshareArgv(flags: readonly string[]): string[] {
  return isRoot() ? ["unshare", ...flags, "--"] : ["unshare", "--user", "--map-root-user", ...flags, "--"];
}

/**
 * The argv prefix, run inside `unshareArgv`'s namespaces after any mounts, that is the caller
 * again: empty as root; as a normal user, a nested user namespace mapping the caller's uid and
 * gid (its capabilities end there).
 */
export function asCallerAgain(): string[] {
  if (isRoot() || process.getuid === undefined || process.getgid === undefined) return [];
  // Numbers, not names: an account from LDAP may have no passwd entry here.
  return ["unshare", "--user", `--map-user=${process.getuid()}`, `--map-group=${process.getgid()}`, "--"];
}
