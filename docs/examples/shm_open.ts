import fs from "fs";
import { shm_open, shm_unlink, mmap, uniqueName, O_CREAT, O_RDWR, PROT_READ, PROT_WRITE, MAP_SHARED } from "tslab-ipc";
const name = "/" + uniqueName("demo"); // /dev/shm/demo-<pid>-…
const fd = shm_open(name, O_CREAT | O_RDWR);
fs.ftruncateSync(fd, 4096);
const m = mmap(null, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
fs.closeSync(fd);
m.writeString("hello " + name);
shm_unlink(name);
m.unmap();
