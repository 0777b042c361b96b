import { runTs } from "tslab-ipc";
const crash = await runTs(
  `
  import { mapAnonymous, mprotect, PROT_READ } from "tslab-ipc";
  const m = mapAnonymous(4096);
  mprotect(m, 4096, PROT_READ);
  m.buffer[0] = 1; // a raw write to read-only memory: SIGSEGV, as in C
`,
  { quiet: true },
);
console.log(crash.signal, crash.summary); // SIGSEGV child … was killed by SIGSEGV (segmentation fault)
const r = await runTs(`console.log(process.argv.slice(2).join("+"))`, { args: ["a", "b"], quiet: true });
console.log(r.stdout.trim(), r.code); // a+b 0
