import { writeFileSync } from "fs";
import path from "path";
import { ftok, labDir } from "tslab-ipc";
const file = path.join(labDir(), "shmdemo.c"); // a file of this process's own: so is the key
writeFileSync(file, "");
const key = ftok(file, "R");
console.log("0x" + (key >>> 0).toString(16));
