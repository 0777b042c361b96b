// Who a uid is, as ipcs and ls show it: the system's user names, read from /etc/passwd. No FFI
// here: the grader and the displays read names without loading the koffi table.
import fs from "fs";

/** uid -> user name, from /etc/passwd (empty when there is none: callers show numbers). */
export function userNames(): Map<number, string> {
  const map = new Map<number, string>();
  try {
    for (const line of fs.readFileSync("/etc/passwd", "utf8").split("\n")) {
      const [name, , uid] = line.split(":");
      if (name && uid) map.set(Number(uid), name);
    }
  } catch {
    /* no passwd: numeric owners */
  }
  return map;
}
