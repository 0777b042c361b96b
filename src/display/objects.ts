// Rich display of the sys-level objects. The symbol methods are defined here, on the classes'
// prototypes, so src/sys stays free of display code (data flows sys <- display).
import { inspect } from "util";
import { formatKey } from "../errors";
import { Mapping } from "../sys/mman";
import { Attachment, IpcsList, ShmidDs, type IpcsEntry } from "../sys/sysv";
import { fieldsTable, fieldsText, recordsTable, recordsText } from "./html";
import { JUPYTER_DISPLAY, type MimeBundle } from "./mime";

function octal(mode: number): string {
  return "0" + mode.toString(8).padStart(3, "0");
}

function bundle(caption: string, rows: Array<[string, unknown]>): MimeBundle {
  return { "text/html": fieldsTable(caption, rows), "text/plain": fieldsText(caption, rows) };
}

function define(proto: object, show: (this: never) => MimeBundle): void {
  // Non-enumerable like a class method, so util.inspect and Object.keys do not show it.
  Object.defineProperty(proto, JUPYTER_DISPLAY, { value: show, writable: true, configurable: true, enumerable: false });
}

define(Attachment.prototype, function (this: Attachment): MimeBundle {
  return bundle(`Attachment (shmat of segment ${this.shmid})`, [
    ["shmid", this.shmid],
    ["address", this.address],
    ["length", this.length],
    ["state", this.state],
    ["readonly", this.readonly],
  ]);
});

define(Mapping.prototype, function (this: Mapping): MimeBundle {
  return bundle(`Mapping (${this.path ? "file" : "anonymous"})`, [
    ["address", this.address],
    ["length", this.length],
    ["state", this.state],
    ["path", this.path ?? "(anonymous)"],
    ["fd", this.fd],
    ["offset", this.offset],
  ]);
});

define(ShmidDs.prototype, function (this: ShmidDs): MimeBundle {
  return bundle(`shmid_ds of segment ${this.shmid}`, [
    ["shm_perm.__key", formatKey(this.key)],
    ["shm_perm.mode", octal(this.mode)],
    ["shm_segsz", this.size],
    ["shm_nattch", this.nattch],
    ["shm_cpid", this.cpid],
    ["shm_lpid", this.lpid],
    ["shm_atime", this.atime],
    ["shm_dtime", this.dtime],
    ["shm_ctime", this.ctime],
    ["uid / gid", `${this.uid} / ${this.gid}`],
    ["marked for removal", this.dest],
  ]);
});

const IPCS_COLUMNS = ["key", "shmid", "owner", "perms", "bytes", "nattch", "status", "cpid", "lpid"];

function ipcsRow(e: IpcsEntry): unknown[] {
  const status = [e.dest ? "dest" : "", e.creatorAlive ? "" : "creator gone"].filter(Boolean).join(", ");
  return [e.keyHex, e.shmid, e.owner, octal(e.mode), e.size, e.nattch, status, e.cpid, e.lpid];
}

function isEntry(e: unknown): e is IpcsEntry {
  return typeof e === "object" && e !== null && typeof (e as IpcsEntry).keyHex === "string";
}

define(IpcsList.prototype, function (this: IpcsList): MimeBundle {
  // ipcs().map(...) is an IpcsList too (an Array's species), of whatever map returned: the
  // table read fields of numbers and failed; it is shown as the array it is.
  if (!Array.prototype.every.call(this, isEntry)) return { "text/plain": inspect(Array.from(this)) };
  const caption = `------ Shared Memory Segments (${this.length}) ------`;
  const rows = Array.from(this, ipcsRow);
  return {
    "text/html": recordsTable(caption, IPCS_COLUMNS, rows),
    "text/plain": recordsText(caption, IPCS_COLUMNS, rows),
  };
});
