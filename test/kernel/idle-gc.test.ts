// kernel/idle-gc.js: after the kernel has been idle, a heap that grew (a fragmented old space, a
// young generation at its largest) is compacted once, in
// the cell queue; a cell ending meanwhile postpones it, and small growth does not trigger it.
// Each case runs in a Node process of its own (it changes V8's flags there, and fragments its heap).
import { spawnSync } from "child_process";
import path from "path";

const idleGc = path.resolve(__dirname, "..", "..", "kernel", "idle-gc.js");

/** Runs `body` in a fresh Node with `compactWhenIdle` set up on a plain queue; returns its JSON line. */
function inNode(body: string): Record<string, unknown> {
  const script = `
    const v8 = require("v8");
    const { compactWhenIdle } = require(${JSON.stringify(idleGc)});
    const oldSpace = () => v8.getHeapSpaceStatistics().find((s) => s.space_name === "old_space").space_size;
    const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
    let queue = Promise.resolve();
    const tasks = [];
    const cells = { enqueue: (task) => (queue = queue.then(() => { tasks.push("compaction check"); return task(); })) };
    const compactions = [];
    const idle = compactWhenIdle(cells, { idleMs: 1000, minGrowthBytes: 16 << 20, onCompact: (b, a) => compactions.push([b, a]) });
    // A cell's garbage: objects that live long enough to reach the old space, then mostly die.
    const fragment = () => {
      const keep = [];
      for (let i = 0; i < 600000; i++) keep.push({ a: i, b: [i, i + 1], c: "x" + i });
      for (let i = 0; i < keep.length; i++) if (i % 8) keep[i] = null;
      return keep;
    };
    (async () => { ${body} })().then((r) => console.log(JSON.stringify(r)), (e) => { console.error(e); process.exit(1); });
  `;
  const r = spawnSync(process.execPath, ["-e", script], { encoding: "utf8", timeout: 60000 });
  expect({ status: r.status, stderr: r.stderr }).toMatchObject({ status: 0 });
  return JSON.parse(r.stdout.trim().split("\n").pop() ?? "null");
}

test("an idle kernel whose old space grew is compacted once, and gives the pages back", () => {
  const r = inNode(`
    idle.cellEnded();                  // the warm-up: the baseline
    const kept = fragment();
    const grown = oldSpace();
    idle.cellEnded();                  // a cell that left garbage
    await sleep(2000);
    return { grown, after: oldSpace(), compactions: compactions.length, checks: tasks.length, kept: kept.length };
  `);
  expect(r.compactions).toBe(1);
  expect(r.checks).toBe(1); // one check for the idle period (the first timer was replaced)
  expect(r.after as number).toBeLessThan((r.grown as number) / 2);
});

test("a cell ending within the idle time postpones the compaction; small growth never starts one", () => {
  const r = inNode(`
    idle.cellEnded();                  // the baseline
    const kept = fragment();
    idle.cellEnded();                  // a cell that left garbage: 1 s from now...
    await sleep(200);
    idle.cellEnded();                  // ...but another ended before: the count starts again
    await sleep(700);
    const early = compactions.length;  // 0.9 s after the first cell, 0.7 s after the last
    await sleep(1300);
    const late = compactions.length;
    idle.cellEnded();                  // a cell that grew nothing: checked, not compacted
    await sleep(1800);
    return { early, late, final: compactions.length, checks: tasks.length, kept: kept.length };
  `);
  expect(r).toMatchObject({ early: 0, late: 1, final: 1, checks: 2 });
});

test("an idle kernel whose young generation grew, its old space not, is compacted too", () => {
  const r = inNode(`
    const young = () => v8.getHeapSpaceStatistics().find((s) => s.space_name === "new_space").space_size;
    idle.cellEnded();                  // the baseline
    const oldBefore = oldSpace(), youngBefore = young();
    // Cells whose garbage dies young (as a cell's type checker now does): V8 grows the young
    // generation to its largest, the old space by little.
    let sink = 0;
    for (let r = 0; r < 4000; r++) { const a = []; for (let i = 0; i < 5000; i++) a.push({ i, s: "x" + i }); sink += a.length; }
    const grownYoung = young() - youngBefore, grownOld = oldSpace() - oldBefore;
    idle.cellEnded();
    await sleep(2000);
    return { grownYoung, grownOld, compactions: compactions.length, sink };
  `);
  expect(r.grownYoung as number).toBeGreaterThan(16 << 20);
  expect(r.grownOld as number).toBeLessThan(16 << 20);
  expect(r.compactions).toBe(1);
});
