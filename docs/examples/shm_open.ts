import fs from "fs";
import { shm_open, shm_unlink, mmap, O_CREAT, O_RDWR, PROT_READ, PROT_WRITE, MAP_SHARED } from "tslab-ipc";
const fd = shm_open("/demo", O_CREAT | O_RDWR);
fs.ftruncateSync(fd, 4096);
const m = mmap(null, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
fs.closeSync(fd);
m.writeString("hello /dev/shm/demo");
shm_unlink("/demo");
m.unmap();
