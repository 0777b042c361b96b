import fs from "fs";
import os from "os";
import path from "path";
import { dropFromPageCache, cachedPages } from "tslab-ipc";
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cache-demo-")); // on disk: tmpfs pages cannot be dropped
const file = path.join(dir, "data.bin");
fs.writeFileSync(file, Buffer.alloc(64 * 4096, 1));
console.log(cachedPages(file), dropFromPageCache(file)); // { pages: 64, resident: 64 } 0
fs.rmSync(dir, { recursive: true });
