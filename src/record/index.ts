// A record in shared memory that readers never see torn (src/record).
export { SharedRecord } from "./shared-record";
export type { RecordSnapshot } from "./shared-record";
export { crc32 } from "./crc32";
