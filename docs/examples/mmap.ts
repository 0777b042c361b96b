import fs from "fs";
import { mmap, PROT_READ, MAP_SHARED } from "tslab-ipc";
fs.writeFileSync("/tmp/ints.bin", Buffer.from([42, 0, 0, 0]));
const fd = fs.openSync("/tmp/ints.bin", "r");
const pregion = mmap(null, 4096, PROT_READ, MAP_SHARED, fd, 0);
fs.closeSync(fd); // the mapping stays
console.log(pregion.readInt32(0)); // 42
pregion.unmap();
