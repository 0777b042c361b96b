import { shmget, shmat, shmdt, IPC_CREAT, IPC_PRIVATE } from "tslab-ipc";
const data = shmat(shmget(IPC_PRIVATE, 1024, IPC_CREAT | 0o600), null, 0);
data.writeString("Writing to shared memory");
console.log(data.readString(), data.buffer.length);
shmdt(data);
