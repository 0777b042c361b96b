// A user's kernels and `npm start` build no start-up snapshot of their own while the machine's
// serves them (kernel/snapshot.js, machineBlobServes): a fresh blob of root's, in a folder of
// root's, that nobody else can write, newer than the user's if they have one, which is exactly
// when kernel/start.sh starts them from it. Otherwise (no machine blob, a stale one, one others
// could have written, a symbolic link, or the user's own is newer) they build their own, as
// before. Measured on `npm start` with a fresh machine blob and none of the user's: 51.6 and
// 48.4 s with the build it used to start, 42.3 and 38.0 s without.
//
// The blobs are stand-ins: a blob is fresh when every file its stamps name is unchanged, and
// these name none (test/kernel/snapshot.e2e.test.ts builds and starts real ones).
import fs from "fs";
import os from "os";
import path from "path";

const snapshot = require(path.join(__dirname, "..", "..", "kernel", "snapshot.js")) as {
  enabled(env: NodeJS.ProcessEnv): boolean;
  machineBlobServes(env: NodeJS.ProcessEnv): boolean;
  buildInBackground(env: NodeJS.ProcessEnv): void;
};
const startSh = path.join(__dirname, "..", "..", "kernel", "start.sh");

const why =
  process.getuid?.() !== 0
    ? "needs root (the machine's blob is root's)"
    : !snapshot.enabled({ ...process.env, TSLAB_IPC_SNAPSHOT: "1" })
      ? `Node ${process.version} has no snapshots here`
      : null;
const maybe = why ? test.skip : test;
if (why) console.warn(`machine snapshot tests skipped: ${why}`);

describe("a user's build beside the machine's blob", () => {
  let root: string;
  let system: string;
  let cache: string;
  let env: NodeJS.ProcessEnv;
  let name: string;

  beforeEach(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), "tslab-ipc-machine-blob-"));
    system = path.join(root, "system");
    fs.mkdirSync(system, { mode: 0o755 });
    cache = path.join(root, "cache");
    env = { ...process.env, TSLAB_IPC_SNAPSHOT: "1", TSLAB_IPC_SNAPSHOT_SYSTEM_DIR: system, XDG_CACHE_HOME: cache };
    const n = fs.statSync(process.execPath);
    const k = fs.statSync(path.dirname(startSh));
    name = `${n.dev}-${n.ino}-${Math.floor(n.mtimeMs / 1000)}-${n.size}+${k.dev}-${k.ino}.blob`;
  });
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  /** A blob stand-in in `dir`: fresh (its stamps name no file) or stale (a file that changed). */
  function blob(dir: string, options: { fresh?: boolean; seconds?: number; mode?: number } = {}): string {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const file = path.join(dir, name);
    fs.writeFileSync(file, "blob", { mode: options.mode ?? 0o644 });
    fs.chmodSync(file, options.mode ?? 0o644);
    const stamps = options.fresh === false ? { [startSh]: "0:0:0" } : {};
    fs.writeFileSync(`${file}.json`, JSON.stringify(stamps));
    const seconds = options.seconds ?? Date.now() / 1000;
    fs.utimesSync(file, seconds, seconds);
    return file;
  }
  const userDir = () => path.join(cache, "tslab-ipc", "snapshot");
  /** What buildInBackground left in the user's folder: a lock means a build started. */
  const built = () => {
    snapshot.buildInBackground(env);
    return fs.existsSync(userDir()) && fs.readdirSync(userDir()).some((f) => f.endsWith(".lock"));
  };

  maybe("a fresh machine blob and none of the user's: it serves, and no build starts", () => {
    blob(system);
    expect(snapshot.machineBlobServes(env)).toBe(true);
    expect(built()).toBe(false);
  });

  maybe("a fresh machine blob newer than the user's stale one: it serves", () => {
    blob(userDir(), { fresh: false, seconds: 1_700_000_000 });
    blob(system, { seconds: 1_700_000_100 });
    expect(snapshot.machineBlobServes(env)).toBe(true);
    expect(built()).toBe(false);
  });

  maybe("the user's blob is newer (start.sh takes it), even within the same second: not served", () => {
    blob(system, { seconds: 1_700_000_000 });
    blob(userDir(), { fresh: false, seconds: 1_700_000_100 });
    expect(snapshot.machineBlobServes(env)).toBe(false);
    // The machine's 0.5 s later, in the same second: a shell's -nt may not see it newer.
    blob(system, { seconds: 1_700_000_200.7 });
    blob(userDir(), { fresh: false, seconds: 1_700_000_200.2 });
    expect(snapshot.machineBlobServes(env)).toBe(false);
  });

  maybe("a machine blob that start.sh would refuse, or a stale one, does not serve", () => {
    expect(snapshot.machineBlobServes(env)).toBe(false); // none at all
    const file = blob(system, { fresh: false });
    expect(snapshot.machineBlobServes(env)).toBe(false); // stale
    blob(system);
    fs.chmodSync(file, 0o664); // writable by its group
    expect(snapshot.machineBlobServes(env)).toBe(false);
    fs.chmodSync(file, 0o644);
    fs.chmodSync(system, 0o775); // a folder its group can write
    expect(snapshot.machineBlobServes(env)).toBe(false);
    fs.chmodSync(system, 0o755);
    fs.chownSync(file, 65534, 65534); // not root's
    expect(snapshot.machineBlobServes(env)).toBe(false);
    fs.chownSync(file, 0, 0);
    const real = path.join(root, "elsewhere.blob");
    fs.renameSync(file, real);
    fs.symlinkSync(real, file); // a symbolic link
    expect(snapshot.machineBlobServes(env)).toBe(false);
    fs.rmSync(file);
    fs.renameSync(real, file);
    expect(snapshot.machineBlobServes(env)).toBe(true); // and back: the same file serves
  });
});
