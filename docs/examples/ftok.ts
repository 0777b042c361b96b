import { writeFileSync } from "fs";
import { ftok } from "tslab-ipc";
writeFileSync("/tmp/shmdemo.c", "");
const key = ftok("/tmp/shmdemo.c", "R");
console.log("0x" + (key >>> 0).toString(16));
