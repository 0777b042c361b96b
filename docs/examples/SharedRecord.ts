import { mapAnonymous, SharedRecord, crc32 } from "tslab-ipc";
const m = mapAnonymous(SharedRecord.byteLength(256), { shared: true });
const rec = SharedRecord.init(m, 0, 256);
rec.write("temperature=21.5");
console.log(SharedRecord.open(m, 0).readString(), rec.generation); // temperature=21.5 1
console.log(crc32(Buffer.from("123456789")).toString(16)); // cbf43926
m.unmap();
