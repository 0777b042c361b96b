import { writeFileSync } from "fs";
import path from "path";
import { ftok, labDir, shmget, IPC_CREAT, IPC_PRIVATE } from "tslab-ipc";
const file = path.join(labDir(), "shmdemo.c");
writeFileSync(file, "");
const id = shmget(ftok(file, "R"), 1024, 0o644 | IPC_CREAT); // the slide's call
const mine = shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0o600);
console.log(id, mine);
