import { ftok, shmget, IPC_CREAT, IPC_PRIVATE } from "tslab-ipc";
const id = shmget(ftok("/tmp/shmdemo.c", "R"), 1024, 0o644 | IPC_CREAT); // the slide's call
const mine = shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0o600);
console.log(id, mine);
