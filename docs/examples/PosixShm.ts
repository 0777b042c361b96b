import { PosixShm } from "tslab-ipc";
const shm = PosixShm.create("/lab-demo", 4096);
const m = shm.map();
m.writeString("posix");
console.log(PosixShm.open("/lab-demo", { readonly: true }).map().readString()); // posix
shm[Symbol.dispose]();
