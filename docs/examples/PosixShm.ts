import { PosixShm, uniqueName } from "tslab-ipc";
const name = "/" + uniqueName("lab-demo");
const shm = PosixShm.create(name, 4096);
const m = shm.map();
m.writeString("posix");
console.log(PosixShm.open(name, { readonly: true }).map().readString()); // posix
shm[Symbol.dispose]();
