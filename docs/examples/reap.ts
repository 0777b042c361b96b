import { reap } from "tslab-ipc";
console.log(reap()); // { removed: [...], live: n }
