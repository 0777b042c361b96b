import fs from "fs";
import { dropFromPageCache, cachedPages } from "tslab-ipc";
fs.writeFileSync("/tmp/cache-demo.bin", Buffer.alloc(64 * 4096, 1));
console.log(cachedPages("/tmp/cache-demo.bin"), dropFromPageCache("/tmp/cache-demo.bin")); // { pages: 64, resident: 64 } 0
