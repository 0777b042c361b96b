// Writers SIGKILLed at random points in the middle of writing a SharedRecord while this process
// reads: no read ever returns a torn record. The seed is printed; TSLAB_IPC_SEED=<seed> replays it.
// `npm run stress` runs the same experiment with many more kills.
import { seedFromEnv } from "../../stress/prng";
import { recordKillExperiment } from "../../stress/record-kill";

// A fixed seed keeps `npm test` repeatable; TSLAB_IPC_SEED overrides it, `npm run stress` draws a new one.
const TEST_SEED = 0x7e57_0007;

test("a reader never accepts a torn record, though writers are killed mid-write", async () => {
  const seed = seedFromEnv(process.env, TEST_SEED);
  const stats = await recordKillExperiment({ iterations: 25, seed, maxDelayMs: 30 });
  const { readFailures, writerFailures, ...counts } = stats;
  console.log(`record-kill (TSLAB_IPC_SEED=${seed}): ${JSON.stringify(counts)}`);
  expect(writerFailures).toEqual([]);
  expect(readFailures).toEqual([]);
  expect(stats.invalidAccepted).toBe(0);
  expect(stats.kills).toBe(25);
  // The hazard was real: writers died inside write() and left torn bytes in shared memory...
  expect(stats.killedMidWrite).toBeGreaterThan(0);
  expect(stats.tornLeftInMemory).toBeGreaterThan(0);
  // ...and the readers still got complete records.
  expect(stats.readsAccepted).toBeGreaterThan(stats.iterations / 2);
}, 120_000);
