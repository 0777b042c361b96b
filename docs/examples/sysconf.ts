import { sysconf, _SC_PAGESIZE } from "tslab-ipc";
console.log(sysconf(_SC_PAGESIZE)); // 4096
