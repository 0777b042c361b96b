import { ftok, type IpcError } from "tslab-ipc";
try {
  ftok("/no/such/file", "R");
} catch (e) {
  const err = e as IpcError;
  console.log(err.code, err.errno, err.syscall, err.path); // ENOENT 2 ftok /no/such/file
  console.log(err.message); // ENOENT: no such file or directory, ftok '/no/such/file'
}
