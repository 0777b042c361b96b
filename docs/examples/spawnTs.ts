import { spawnTs, runningChildren, killChildren } from "tslab-ipc";
const echo = spawnTs(`process.stdin.on("data", (d) => console.log("got", String(d).trim()));`, {
  label: "echo",
  quiet: true,
});
echo.write("ping\n");
while (!echo.stdout.includes("\n")) await new Promise((r) => setTimeout(r, 20)); // its first line
console.log(echo.stdout.trim(), runningChildren().length); // got ping 1
killChildren();
console.log((await echo.done).signal); // SIGKILL
