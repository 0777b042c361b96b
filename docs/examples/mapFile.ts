import path from "path";
import { labDir, mapFile, mapAnonymous } from "tslab-ipc";
const file = mapFile(path.join(labDir(), "mapped.txt"), { create: 4096 }); // made with mode 0600 if missing
file.writeString("persisted through the page cache");
file.sync();
file.unmap();
const anon = mapAnonymous(1 << 20, { populate: true });
console.log(anon.residency().reduce((a, b) => a + b, 0)); // 256; pages resident
anon.unmap();
