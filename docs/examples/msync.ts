import { mapFile, msync, MS_SYNC } from "tslab-ipc";
const m = mapFile("/tmp/msync.bin", { create: 4096 });
m.writeString("This is a test");
msync(m, 4096, MS_SYNC);
m.unmap();
