import { reap } from "tslab-ipc";
console.log(reap()); // { removed: […], live: …, skipped: 0 }
