// Reading a submission's file (src/assign/submission-file.ts): a link a student made may lead
// only to their own files (the links of root, the grader and the submissions folder's owner may
// lead anywhere), and no file larger than the limit is read. Students are
// nobody (65534) and 65533 here; the files are made as root and given to them.
import { spawnSync } from "child_process";
import fs from "fs";
import path from "path";
import { DEFAULT_LIMITS } from "../../src/assign/sandbox";
import { readSubmissionText, trustedLinkMakers } from "../../src/assign/submission-file";
import { userNames } from "../../src/sys/user-names";
import { caught, tempDir } from "../helpers";

const ALICE = 65534;
const BOB = 65533;
/** As the grader reads `file` of a submissions folder made by root (this test's). */
const read = (file: string) => readSubmissionText(file, trustedLinkMakers(dir), DEFAULT_LIMITS.notebookBytes);
const nameOf = (uid: number) => userNames().get(uid) ?? `uid ${uid}`;
const asRoot = process.getuid?.() === 0 ? test : test.skip;
if (process.getuid?.() !== 0)
  console.warn("submission link tests skipped: they need root to make files of other users");

let dir = "";
beforeEach(() => {
  dir = tempDir("tslab-ipc-links-");
  fs.chmodSync(dir, 0o755);
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Makes `rel` in the test folder with `make`, owned by `uid` (a link: made by `uid`). */
function made(rel: string, uid: number, make: (p: string) => void): string {
  const p = path.join(dir, rel);
  fs.mkdirSync(path.dirname(p), { recursive: true });
  make(p);
  fs.lchownSync(p, uid, uid);
  return p;
}
const file = (rel: string, text: string, uid: number) => made(rel, uid, (p) => fs.writeFileSync(p, text));
const link = (rel: string, target: string, uid: number) => made(rel, uid, (p) => fs.symlinkSync(target, p));

asRoot("a file, a student's link to their own file, and the grader's links to anyone's are read", () => {
  file("alice/mine.ipynb", "alice's work", ALICE);
  expect(read(path.join(dir, "alice", "mine.ipynb"))).toBe("alice's work");
  link("alice/assignment.ipynb", "mine.ipynb", ALICE);
  expect(read(path.join(dir, "alice", "assignment.ipynb"))).toBe("alice's work");
  // The instructor's folder of links to the students' folders.
  link("subs/alice", path.join(dir, "alice"), 0);
  expect(read(path.join(dir, "subs", "alice", "assignment.ipynb"))).toBe("alice's work");
});

asRoot("a student's link to another student's notebook or to the source is refused, and says whose", () => {
  file("bob/assignment.ipynb", "bob's work", BOB);
  file("course/source.ipynb", "the solutions", 0);
  link("subs/alice", path.join(dir, "alice"), 0);
  link("alice/assignment.ipynb", path.join(dir, "bob", "assignment.ipynb"), ALICE);
  const { code, message } = caught(() => read(path.join(dir, "subs", "alice", "assignment.ipynb")));
  expect(code).toBe("ERR_FOREIGN_LINK");
  expect(message).toBe(
    `${dir}/subs/alice/assignment.ipynb leads through ${dir}/alice/assignment.ipynb, a link of nobody's, to ` +
      `${dir}/bob/assignment.ipynb, a file of ${nameOf(BOB)}'s: a link a student made may lead only to their own files`,
  );
  fs.unlinkSync(path.join(dir, "alice", "assignment.ipynb"));
  link("alice/assignment.ipynb", "../course/source.ipynb", ALICE);
  expect(caught(() => read(path.join(dir, "subs", "alice", "assignment.ipynb"))).code).toBe("ERR_FOREIGN_LINK");
});

asRoot("the links of the submissions folder's owner lead anywhere: an instructor who grades with sudo", () => {
  const INSTRUCTOR = 65532;
  file("alice/assignment.ipynb", "alice's work", ALICE);
  file("bob/assignment.ipynb", "bob's work", BOB);
  fs.mkdirSync(path.join(dir, "subs"));
  fs.chownSync(path.join(dir, "subs"), INSTRUCTOR, INSTRUCTOR);
  link("subs/alice", path.join(dir, "alice"), INSTRUCTOR);
  link("subs/carol.ipynb", path.join(dir, "bob", "assignment.ipynb"), ALICE);
  const trusted = trustedLinkMakers(path.join(dir, "subs"));
  expect(readSubmissionText(path.join(dir, "subs", "alice", "assignment.ipynb"), trusted, 1000)).toBe("alice's work");
  // (A link of a student's in the instructor's folder still leads only to their own files.)
  expect(caught(() => readSubmissionText(path.join(dir, "subs", "carol.ipynb"), trusted, 1000)).code).toBe(
    "ERR_FOREIGN_LINK",
  );
});

asRoot("'..' after a link is resolved from where the link leads, as the kernel does", () => {
  // alice/deep leads three folders down: deep/../../../bob is bob's folder for the kernel, and
  // another path (here, nothing) for a resolution by the text alone.
  fs.mkdirSync(path.join(dir, "x", "y", "z"), { recursive: true });
  file("bob/assignment.ipynb", "bob's work", BOB);
  link("alice/deep", path.join(dir, "x", "y", "z"), ALICE);
  link("alice/assignment.ipynb", "deep/../../../bob/assignment.ipynb", ALICE);
  expect(fs.readFileSync(path.join(dir, "alice", "assignment.ipynb"), "utf8")).toBe("bob's work");
  expect(caught(() => read(path.join(dir, "alice", "assignment.ipynb"))).code).toBe("ERR_FOREIGN_LINK");
});

test("what cannot be read fails as reading it does", () => {
  const missing = path.join(dir, "nothing.ipynb");
  expect(caught(() => read(missing)).code).toBe("ENOENT");
  fs.symlinkSync(path.join(dir, "gone.ipynb"), missing);
  expect(caught(() => read(missing)).code).toBe("ENOENT");
  expect(caught(() => read(dir)).code).toBe("EISDIR");
});

test("a file larger than the limit is refused before it is read, and says how large", () => {
  const big = path.join(dir, "big.ipynb");
  fs.writeFileSync(big, "x".repeat(3 * 2 ** 20 + 1));
  expect(caught(() => readSubmissionText(big, [0, process.getuid?.() ?? 0], 2 ** 20))).toMatchObject({
    code: "ERR_SUBMISSION_TOO_LARGE",
    message: `${big} is 3.1 MB: larger than the 1 MiB a submission may be (limits.notebookBytes)`,
  });
  expect(readSubmissionText(big, [0, process.getuid?.() ?? 0], 4 * 2 ** 20)).toHaveLength(3 * 2 ** 20 + 1);
  // What is read is the file's bytes as text, exactly, at the limit too.
  fs.writeFileSync(big, "é".repeat(2 ** 19));
  expect(readSubmissionText(big, [0, process.getuid?.() ?? 0], 2 ** 20)).toBe("é".repeat(2 ** 19));
});

test("a FIFO is refused at once, where reading it held the grader until someone wrote to it", () => {
  const fifo = path.join(dir, "fifo.ipynb");
  expect(spawnSync("mkfifo", [fifo]).status).toBe(0);
  expect(caught(() => readSubmissionText(fifo, [0], 1000))).toMatchObject({
    code: "ERR_INVALID_NOTEBOOK",
    message: `${fifo} is not a file but a FIFO, socket or device: a submission is a notebook file`,
  });
});
