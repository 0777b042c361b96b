// The public surface: the root module and package.json, nothing under them, and no internal
// argument masks among the root's names.
import { spawnSync } from "child_process";
import path from "path";

const root = path.join(__dirname, "..");

function resolveFromOutside(request: string): string {
  const r = spawnSync(
    process.execPath,
    ["-e", `try { require.resolve(${JSON.stringify(request)}); console.log("ok") } catch (e) { console.log(e.code) }`],
    {
      cwd: root,
      encoding: "utf8",
    },
  );
  return r.stdout.trim();
}

test("package.json exports only the entry points", () => {
  expect(resolveFromOutside("tslab-ipc")).toBe("ok");
  expect(resolveFromOutside("tslab-ipc/package.json")).toBe("ok");
  expect(resolveFromOutside("tslab-ipc/dist/errors.js")).toBe("ERR_PACKAGE_PATH_NOT_EXPORTED");
  expect(resolveFromOutside("tslab-ipc/src/sys/masks")).toBe("ERR_PACKAGE_PATH_NOT_EXPORTED");
});

test("the root publishes the constants of the slides, not the internal masks", () => {
  const names = Object.keys(require(path.join(root, "dist", "index.js")));
  expect(names).toEqual(expect.arrayContaining(["PROT_READ", "MAP_SHARED", "MADV_DONTNEED", "IPC_CREAT"]));
  expect(names.filter((n) => /_MASK$|_KNOWN$/.test(n))).toEqual([]);
});
