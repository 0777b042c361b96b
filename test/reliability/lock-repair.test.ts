// A process killed while holding the library's lock does not deadlock the others: the next one
// to lock learns the owner died (robust lock) and repairs the state it protects from an undo
// journal. test/sync/lock.test.ts covers the basic ownerDied case; this is the repair.
import { seedFromEnv } from "../../stress/prng";
import { lockRepairExperiment } from "../../stress/lock-repair";

// A fixed seed keeps `npm test` repeatable; TSLAB_IPC_SEED overrides it, `npm run stress` draws a new one.
const TEST_SEED = 0x7e57_0007;

test("holders SIGKILLed mid-transfer: the next locker gets ownerDied, rolls back, and the invariant holds", async () => {
  const seed = seedFromEnv(process.env, TEST_SEED);
  const r = await lockRepairExperiment({ iterations: 15, seed, repair: true });
  console.log(`lock repair (TSLAB_IPC_SEED=${seed}): ${JSON.stringify(r)}`);
  expect(r.workerFailures).toEqual([]);
  expect(r.kills).toBe(15);
  expect(r.ownerDied).toBeGreaterThan(0); // the victims died holding the lock, and nobody hung
  expect(r.foundHalfDone).toBeGreaterThan(0); // ...in the middle of a transfer
  expect(r.repaired).toBe(r.foundHalfDone);
  expect(r.sumWrong).toBe(0);
}, 120_000);

test("without the repair the same kills break the invariant (what the repair is for)", async () => {
  const r = await lockRepairExperiment({ iterations: 12, seed: seedFromEnv(process.env, TEST_SEED), repair: false });
  console.log(`lock without repair: ${JSON.stringify(r)}`);
  expect(r.workerFailures).toEqual([]);
  expect(r.foundHalfDone).toBeGreaterThan(0);
  expect(r.sumWrong).toBeGreaterThan(0);
}, 120_000);
