import { shmget, shmat, shmdt, IPC_CREAT, IPC_PRIVATE } from "tslab-ipc";
const a = shmat(shmget(IPC_PRIVATE, 64, IPC_CREAT | 0o600));
const view = a.buffer;
shmdt(a);
console.log(a.state, view[0]); // detached 0
