import path from "path";
import { uniqueName, labDir, compileC, runProgram, mkfifo, noCompilerReason } from "tslab-ipc";
const hello = compileC(
  `#include <stdio.h>\nint main(int c, char **v) { printf("hello %s\\n", v[1]); return 0; }`,
  uniqueName("hello"),
);
if (hello)
  console.log(runProgram(hello.path, ["C"]).stdout); // hello C
else console.log(noCompilerReason());
mkfifo(path.join(labDir(), uniqueName("pipe")), 0o600);
