// @ts-check
// A file's stamp: what tells a file unchanged since it was read, for the converter's trees and
// the start-up snapshot's modules (kernel/converter.js, kernel/snapshot.js, kernel/snapshot-entry.js).
// Modification time, size and inode: an edit changes the first two, a replacement (an editor's
// rename over the file, a package reinstalled) the inode.

const fs = require("fs");

/** The stamp of `file` ("" when it is gone). @param {string} file */
function stampOf(file) {
  try {
    // No exception for a missing file: the snapshot checks ~1,200 folders that do not exist.
    const st = fs.statSync(file, { throwIfNoEntry: false });
    return st ? `${st.mtimeMs}:${st.size}:${st.ino}` : "";
  } catch {
    return "";
  }
}

module.exports = { stampOf };
