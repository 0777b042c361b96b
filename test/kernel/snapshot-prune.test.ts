// Which old start-up snapshots a build removes (kernel/snapshot.js, removeDeadBlobs): every blob
// (with its stamps, pages and strings files, ~100 MB together) whose kernel folder is gone or was
// replaced, and a blob of the same checkout not rebuilt for a month; never one a kernel folder
// that exists would start from. Without it every deleted checkout and every reinstalled package
// left its blobs in the user's cache for good (1.2 GB of 13 blobs on the machine that found it,
// 11 of them of folders that were gone). The blobs here are small stand-ins: the rule reads only
// names, stamps and dates.
import fs from "fs";
import os from "os";
import path from "path";

const { removeDeadBlobs } = require(path.join(__dirname, "..", "..", "kernel", "snapshot.js")) as {
  removeDeadBlobs(dir: string, keep: string): void;
};

const NODE = "1-2-3-4";
const MONTH_AND_A_DAY = (31 + 1) * 24 * 3600;

describe("removeDeadBlobs", () => {
  let root: string;
  let cache: string;

  beforeEach(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), "tslab-ipc-prune-"));
    cache = path.join(root, "cache");
    fs.mkdirSync(cache);
  });
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  /** A checkout's kernel folder with the file a blob's stamps name; returns the folder. */
  function checkout(name: string): string {
    const kernel = path.join(root, name, "kernel");
    fs.mkdirSync(kernel, { recursive: true });
    fs.writeFileSync(path.join(kernel, "converter.js"), "// converter\n");
    return kernel;
  }
  const idOf = (folder: string) => {
    const st = fs.statSync(folder);
    return `${st.dev}-${st.ino}`;
  };
  /** A blob as a build leaves it, for `kernel` (a folder, or a made-up id), made `ageSeconds` ago. */
  function blob(kernel: string, options: { node?: string; id?: string; ageSeconds?: number; stamps?: boolean } = {}) {
    const file = path.join(cache, `${options.node ?? NODE}+${options.id ?? idOf(kernel)}.blob`);
    const files = [file, `${file}.pages`, `${file}.strings`];
    if (options.stamps !== false) files.push(`${file}.json`);
    for (const f of files) {
      fs.writeFileSync(
        f,
        f.endsWith(".json") ? JSON.stringify({ [path.join(kernel, "converter.js")]: "1:2:3", [kernel]: "4:5:6" }) : "x",
      );
      const when = Date.now() / 1000 - (options.ageSeconds ?? 0);
      fs.utimesSync(f, when, when);
    }
    return file;
  }
  const left = () => fs.readdirSync(cache).sort();
  const all = (file: string) => [file, `${file}.json`, `${file}.pages`, `${file}.strings`].map((f) => path.basename(f));

  test("removes every file of a blob whose checkout is gone, and keeps the one just built", () => {
    const kept = blob(checkout("live"));
    const goneFolder = checkout("gone");
    const gone = blob(goneFolder);
    fs.rmSync(path.dirname(goneFolder), { recursive: true });
    fs.writeFileSync(path.join(cache, "other-file"), "not a blob");
    fs.mkdirSync(path.join(cache, "build-123"));
    removeDeadBlobs(cache, kept);
    expect(left()).toEqual([...all(kept), "build-123", "other-file"].sort());
    expect(left()).not.toContain(path.basename(gone));
  });

  test("removes a blob whose kernel folder was replaced (same path, another inode)", () => {
    const kept = blob(checkout("live"));
    const folder = checkout("reinstalled");
    const old = blob(folder);
    // npm moves the old package aside before it removes it: the old folder (and its inode) still
    // exists, elsewhere, while the new one is made at the same path.
    fs.renameSync(path.dirname(folder), path.join(root, "old-package"));
    const again = checkout("reinstalled");
    expect(path.basename(old)).not.toContain(`+${idOf(again)}.blob`);
    removeDeadBlobs(cache, kept);
    expect(left()).toEqual(all(kept).sort());
  });

  test("keeps the blobs of live checkouts, other Nodes' among them, and blobs without stamps", () => {
    const here = checkout("live");
    const kept = blob(here);
    const otherNode = blob(here, { node: "9-9-9-9", ageSeconds: 3600 });
    const otherCheckout = blob(checkout("second"), { ageSeconds: MONTH_AND_A_DAY });
    const unknown = blob(here, { id: "7-77777777", stamps: false, ageSeconds: MONTH_AND_A_DAY });
    removeDeadBlobs(cache, kept);
    expect(left()).toEqual(
      [
        ...all(kept),
        ...all(otherNode),
        ...all(otherCheckout),
        ...all(unknown).filter((f) => !f.endsWith(".json")),
      ].sort(),
    );
  });

  test("removes a blob of this checkout that was not rebuilt for a month (its Node is gone)", () => {
    const here = checkout("live");
    const kept = blob(here);
    const stale = blob(here, { node: "9-9-9-9", ageSeconds: MONTH_AND_A_DAY });
    const recent = blob(here, { node: "8-8-8-8", ageSeconds: 29 * 24 * 3600 });
    removeDeadBlobs(cache, kept);
    expect(left()).toEqual([...all(kept), ...all(recent)].sort());
    expect(left()).not.toContain(path.basename(stale));
  });

  test("never throws: an unreadable stamps file, a cache folder that is gone", () => {
    const here = checkout("live");
    const kept = blob(here);
    const broken = blob(checkout("broken"));
    fs.writeFileSync(`${broken}.json`, "{ not json");
    expect(() => removeDeadBlobs(cache, kept)).not.toThrow();
    expect(left()).toEqual([...all(kept), ...all(broken)].sort());
    fs.rmSync(cache, { recursive: true });
    expect(() => removeDeadBlobs(cache, kept)).not.toThrow();
  });
});
