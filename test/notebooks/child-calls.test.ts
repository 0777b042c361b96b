// countChildCalls sees the calls of a Node child started during the work — also of one that a
// signal kills right after — and restores NODE_OPTIONS.
import { countChildCalls, runTs } from "../../src";

test("a child's mmap is counted; a child that does no mmap shows none", async () => {
  const before = process.env.NODE_OPTIONS;
  const mapping = await countChildCalls(["mmap"], () =>
    runTs(`import { mapAnonymous } from "tslab-ipc"; mapAnonymous(4096);`, { quiet: true }),
  );
  expect(mapping.result.ok).toBe(true);
  expect(mapping.children).toHaveLength(1);
  expect(mapping.children[0].some((c) => c.name === "mmap" && c.args[1] === "4096")).toBe(true);
  const idle = await countChildCalls(["mmap"], () => runTs(`console.log("no mapping")`, { quiet: true }));
  expect(idle.children.flat().filter((c) => c.args[1] === "4096")).toEqual([]);
  expect(process.env.NODE_OPTIONS).toBe(before);
  await expect(countChildCalls(["nosuchcall"], async () => 1)).rejects.toThrow(RangeError);
});

test("the calls of a child killed by SIGSEGV right after them are recorded", async () => {
  const crashed = await countChildCalls(["mprotect"], () =>
    runTs(
      `import { mapAnonymous, mprotect, PROT_NONE } from "tslab-ipc";
      const m = mapAnonymous(4096); mprotect(m, 4096, PROT_NONE); console.log(m.buffer[0]);`,
      { quiet: true },
    ),
  );
  expect(crashed.result.signal).toBe("SIGSEGV");
  expect(crashed.children.flat().some((c) => c.name === "mprotect" && c.args[2] === "0")).toBe(true);
});
