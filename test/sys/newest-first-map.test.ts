// NewestFirstMap behaves as a Map<number, V> (what the registry relies on to remove every
// segment a process made at exit), whichever of its two places an entry sits in.
import { NewestFirstMap } from "../../src/sys/newest-first-map";

test("a long random run of set/get/has/delete/clear agrees with a plain Map at every step", () => {
  // A small deterministic generator, so a failure is reproducible from the step number.
  let seed = 12345;
  const next = (n: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  const ours = new NewestFirstMap<{ k: number; step: number }>();
  const model = new Map<number, { k: number; step: number }>();
  for (let step = 0; step < 20000; step++) {
    const k = next(12);
    const op = next(100);
    if (op < 45) {
      const v = { k, step };
      ours.set(k, v);
      // Setting a key again makes it the newest: the model deletes first to match.
      model.delete(k);
      model.set(k, v);
    } else if (op < 85) {
      expect([step, ours.delete(k)]).toEqual([step, model.delete(k)]);
    } else if (op < 99) {
      expect(ours.get(k)).toBe(model.get(k));
      expect(ours.has(k)).toBe(model.has(k));
    } else {
      ours.clear();
      model.clear();
    }
    expect([step, ours.size]).toEqual([step, model.size]);
    expect(ours.values()).toEqual([...model.values()]);
  }
});

test("the create-and-remove cycle, and the newest entry moving into the map when another is set", () => {
  const m = new NewestFirstMap<string>();
  m.set(1, "a");
  expect(m.delete(1)).toBe(true);
  expect(m.delete(1)).toBe(false);
  expect(m.size).toBe(0);
  m.set(2, "b");
  m.set(3, "c");
  m.set(2, "b2");
  expect(m.values()).toEqual(["c", "b2"]);
  expect(m.get(2)).toBe("b2");
  expect(m.delete(3)).toBe(true);
  expect(m.values()).toEqual(["b2"]);
  expect(m.get(0)).toBeUndefined();
});
