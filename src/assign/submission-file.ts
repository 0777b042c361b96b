// Reading a submission's file: through whose links, and how much of it.
//
// Links. A submissions folder is often a folder of links to where the students' work is (their
// homes), and the grader, often root, followed every link on the way, the students' own
// included: a student's notebook that was a link to another student's notebook, or to the source
// with its solutions, was graded as theirs, and its cells were shown back to them in their
// feedback. The rule: a link counts only if one of the trusted made it (root, the grader, the
// owner of the submissions folder: the instructor who made the folder of links and grades with
// sudo), or it leads to a file of its own maker's (a student may link to their own work only).
//
// The links are checked against the file actually read (its device and inode, from the open
// descriptor): a student swapping a link between the check and the read makes the two differ,
// and the submission is refused, not read.
//
// Size. The grader parses a submission in its own memory, and one of 300 MB (a hundred million
// empty objects in its metadata) took it to 6.6 GB and then out of its heap, after eight minutes,
// with no grade for anyone. A file larger than the limit is refused before it is read, and no
// more than the limit is ever read (a file growing meanwhile). Only a regular file is read: a
// student's FIFO held the grader until someone wrote to it, that is, forever.
import fs from "fs";
import path from "path";
import { withCode } from "../codes";
import { userNames } from "../sys/user-names";

/** Links resolved on one path before it counts as a loop (Linux's MAXSYMLINKS). */
const MAX_LINKS = 40;

/** The file `file` leads to, and every link on the way with its maker, as the kernel resolves it. */
function linksTo(file: string): { file: string; links: { link: string; owner: number }[] } {
  const links: { link: string; owner: number }[] = [];
  const rest = path.resolve(file).split("/");
  let at = "/"; // resolved so far: a path without links (when it was walked)
  while (rest.length > 0) {
    const name = rest.shift()!;
    if (name === "" || name === ".") continue;
    if (name === "..") {
      at = path.dirname(at); // at holds no link: its parent is the real one
      continue;
    }
    const next = path.join(at, name);
    const stat = fs.lstatSync(next);
    if (!stat.isSymbolicLink()) {
      at = next;
      continue;
    }
    if (links.length >= MAX_LINKS) throw withCode(new Error(`too many links on the way to ${file}`), "ELOOP");
    links.push({ link: next, owner: stat.uid });
    const target = fs.readlinkSync(next);
    // A link's target is resolved from the link's folder, or from / when absolute.
    rest.unshift(...target.split("/"));
    if (target.startsWith("/")) at = "/";
  }
  return { file: at, links };
}

/** Whose links lead anywhere: root, the grader and the owner of `submissionsDir`. */
export function trustedLinkMakers(submissionsDir: string): number[] {
  return [0, process.geteuid?.() ?? 0, fs.statSync(submissionsDir).uid];
}

/** Bytes as an instructor reads them: "300 MB", "32 MiB" for a power of two. */
const megabytes = (n: number) => (n % 2 ** 20 === 0 ? `${n / 2 ** 20} MiB` : `${(n / 1e6).toFixed(1)} MB`);

/** The error for a submission larger than `maxBytes` (`size`: what is known of it). */
function tooLarge(file: string, size: string, maxBytes: number): Error {
  return withCode(
    new Error(`${file} is ${size}: larger than the ${megabytes(maxBytes)} a submission may be (limits.notebookBytes)`),
    "ERR_SUBMISSION_TOO_LARGE",
  );
}

/**
 * The text of the submission `file`. Throws (with a code) when it is larger than `maxBytes`
 * (ERR_SUBMISSION_TOO_LARGE), when a link on the way was made by someone not `trusted` and leads
 * to a file of someone else's (ERR_FOREIGN_LINK), or when the way changed while it was read
 * (ERR_SUBMISSION_CHANGED), or when it is no regular file (EISDIR, ERR_INVALID_NOTEBOOK); and
 * as opening it throws (ENOENT, ...).
 */
export function readSubmissionText(file: string, trusted: number[], maxBytes: number): string {
  // O_NONBLOCK: a FIFO opens at once, with no writer (and is then refused) instead of holding
  // the grader until one comes; on a regular file it changes nothing.
  const fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
  try {
    const opened = fs.fstatSync(fd);
    // (A folder goes on to the read, which fails with EISDIR: the grader says "no notebook".)
    if (!opened.isFile() && !opened.isDirectory())
      throw withCode(
        new Error(`${file} is not a file but a FIFO, socket or device: a submission is a notebook file`),
        "ERR_INVALID_NOTEBOOK",
      );
    if (opened.size > maxBytes) throw tooLarge(file, megabytes(opened.size), maxBytes);
    let way: ReturnType<typeof linksTo> | null = null;
    try {
      way = linksTo(file);
    } catch {
      // It opened, so it resolved: it changed since (a link removed or swapped).
    }
    const now = way && fs.statSync(way.file, { throwIfNoEntry: false });
    if (!way || !now || now.dev !== opened.dev || now.ino !== opened.ino)
      throw withCode(new Error(`${file} changed while it was read: grade it again`), "ERR_SUBMISSION_CHANGED");
    const foreign = way.links.find((l) => !trusted.includes(l.owner) && l.owner !== opened.uid);
    if (foreign) {
      const names = userNames();
      const name = (uid: number) => names.get(uid) ?? `uid ${uid}`;
      throw withCode(
        new Error(
          `${file} leads through ${foreign.link}, a link of ${name(foreign.owner)}'s, to ${way.file}, a file of ` +
            `${name(opened.uid)}'s: a link a student made may lead only to their own files`,
        ),
        "ERR_FOREIGN_LINK",
      );
    }
    const bytes = Buffer.alloc(Math.min(opened.size, maxBytes) + 1);
    let length = 0;
    for (let n = 1; n > 0 && length < bytes.length; length += n)
      n = fs.readSync(fd, bytes, length, bytes.length - length, null);
    if (length > maxBytes) throw tooLarge(file, `more than ${megabytes(maxBytes)}`, maxBytes);
    return bytes.toString("utf8", 0, length);
  } finally {
    fs.closeSync(fd);
  }
}
