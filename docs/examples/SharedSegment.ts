import { SharedSegment } from "tslab-ipc";
const seg = SharedSegment.create({ size: 4096 }); // IPC_PRIVATE, mode 0600
const writer = seg.attach();
const reader = SharedSegment.fromId(seg.id).attach({ readonly: true });
writer.writeString("hello");
console.log(reader.readString(), seg.stat().nattch); // hello 2
seg[Symbol.dispose]();
