import path from "path";
import { labDir, mapFile, msync, MS_SYNC } from "tslab-ipc";
const m = mapFile(path.join(labDir(), "msync.bin"), { create: 4096 });
m.writeString("This is a test");
msync(m, 4096, MS_SYNC);
m.unmap();
