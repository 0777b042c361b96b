import { ipcs } from "tslab-ipc";
console.table(ipcs());
