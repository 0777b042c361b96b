import fs from "fs";
import path from "path";
import { labDir, mmap, PROT_READ, MAP_SHARED } from "tslab-ipc";
const file = path.join(labDir(), "ints.bin"); // this process's temp folder, removed at exit
fs.writeFileSync(file, Buffer.from([42, 0, 0, 0]));
const fd = fs.openSync(file, "r");
const pregion = mmap(null, 4096, PROT_READ, MAP_SHARED, fd, 0);
fs.closeSync(fd); // the mapping stays
console.log(pregion.readInt32(0)); // 42
pregion.unmap();
