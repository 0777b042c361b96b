// Rich display: our objects show as tables in Jupyter, and display() sends a value or a MIME
// bundle as one output. Importing this module installs the symbol methods (see objects.ts).
import "./objects";
export { display, setDisplayPublisher } from "./display";
export type { DisplayOptions, DisplayPublisher } from "./display";
export { JUPYTER_DISPLAY, displayDataOf, hasDisplay, isMimeBundle, plainText } from "./mime";
export type { MimeBundle, DisplayData, Displayable } from "./mime";
export { onCellEnd, cellEnded } from "./lifecycle";
export type { CellEndListener } from "./lifecycle";
export { watchIpcs, IpcsWatcher } from "./watch-ipcs";
export type { WatchIpcsOptions, IpcsEvent, PosixShmEntry, WatchedObject } from "./watch-ipcs";
export { table, Table } from "./table";
