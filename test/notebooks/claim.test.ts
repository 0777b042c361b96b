// claim(holds, sentence): shows the sentence when it holds, fails the cell when it does not.
import { claim, ClaimError, say } from "../../src";

test("claim shows a sentence that holds and throws ClaimError for one that does not", () => {
  const out: string[] = [];
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((s: string) => {
    out.push(String(s));
    return true;
  }) as typeof process.stdout.write;
  try {
    claim(2 > 1, "two is more than one");
    say("a sentence built from values");
  } finally {
    process.stdout.write = write;
  }
  expect(out.join("")).toBe("two is more than one\na sentence built from values\n");
  const e = (() => {
    try {
      claim(1 > 2, "one is more than two");
    } catch (x) {
      return x as ClaimError;
    }
  })();
  expect(e).toBeInstanceOf(ClaimError);
  expect(e!.code).toBe("ERR_CLAIM_FAILED");
  expect(e!.message).toContain('"one is more than two"');
  expect(() => claim("yes" as never, "x")).toThrow(TypeError);
});
