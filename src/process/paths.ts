// Where the compiled package lives, so a child process can load it. Children always run the
// compiled library (dist/), also when the parent runs from src/ under ts-jest.
import fs from "fs";
import path from "path";
import { withCode } from "../codes";

let root: string | undefined;

/** The folder holding this package's package.json (name "tslab-ipc"). */
export function packageRoot(): string {
  if (root !== undefined) return root;
  let dir = __dirname;
  for (;;) {
    const manifest = path.join(dir, "package.json");
    if (fs.existsSync(manifest)) {
      try {
        if (JSON.parse(fs.readFileSync(manifest, "utf8")).name === "tslab-ipc") return (root = dir);
      } catch {
        /* not ours: keep looking */
      }
    }
    const up = path.dirname(dir);
    if (up === dir)
      throw withCode(new Error(`tslab-ipc: cannot find the package root above ${__dirname}`), "ERR_PACKAGE_ROOT");
    dir = up;
  }
}

/** dist/index.js: what `import … from "tslab-ipc"` means inside a child. */
export function distIndex(): string {
  return path.join(packageRoot(), "dist", "index.js");
}

/** The compiled child bootstrap (src/process/child.ts). */
export function childBootstrap(): string {
  const file = path.join(packageRoot(), "dist", "process", "child.js");
  if (!fs.existsSync(file) || !fs.existsSync(distIndex())) {
    throw withCode(
      new Error(`tslab-ipc: ${file} is missing; build the package first (npm run build)`),
      "ERR_NOT_BUILT",
    );
  }
  return file;
}

/**
 * `p` absolute with its links resolved as far as it exists, the rest as written: where a file or
 * folder not made yet would be (an output folder, a file whose file system is asked for).
 */
export function realPathSoFar(p: string): string {
  const absolute = path.resolve(p);
  if (fs.existsSync(absolute)) return fs.realpathSync(absolute);
  const parent = path.dirname(absolute);
  return parent === absolute ? absolute : path.join(realPathSoFar(parent), path.basename(absolute));
}
