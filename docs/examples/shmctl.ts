import { shmget, shmat, shmctl, IPC_CREAT, IPC_PRIVATE, IPC_STAT, IPC_RMID } from "tslab-ipc";
const id = shmget(IPC_PRIVATE, 1024, IPC_CREAT | 0o600);
const a = shmat(id);
console.log(shmctl(id, IPC_STAT).nattch); // 1
shmctl(id, IPC_RMID); // marked: gone at the last detach
console.log(shmctl(id, IPC_STAT).dest); // true
a.detach();
