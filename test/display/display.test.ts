// Rich display of our objects and display(): in-process, no Jupyter needed.
import fs from "fs";
import { inspect } from "util";
import os from "os";
import path from "path";
import {
  IPC_CREAT,
  IPC_PRIVATE,
  IPC_RMID,
  IPC_STAT,
  JUPYTER_DISPLAY,
  MAP_PRIVATE,
  PROT_READ,
  display,
  displayDataOf,
  hasDisplay,
  ipcs,
  mmap,
  setDisplayPublisher,
  shmat,
  shmctl,
  shmget,
} from "../../src";
import type { DisplayData } from "../../src";
import { ownerName } from "../helpers";

function withSegment<T>(fn: (shmid: number) => T): T {
  const shmid = shmget(IPC_PRIVATE, 8192, IPC_CREAT | 0o600);
  try {
    return fn(shmid);
  } finally {
    shmctl(shmid, IPC_RMID);
  }
}

describe("our objects show themselves (Symbol.for('Jupyter.display'))", () => {
  test("the symbol is Deno's well-known one", () => {
    expect(JUPYTER_DISPLAY).toBe(Symbol.for("Jupyter.display"));
  });

  test("an Attachment is an HTML table with a text fallback, and says when it is detached", () =>
    withSegment((shmid) => {
      const att = shmat(shmid);
      expect(hasDisplay(att)).toBe(true);
      const shown = displayDataOf(att, {}, false);
      const html = String(shown.data["text/html"]);
      expect(html).toMatch(/^<table/);
      expect(html).toContain(`<code>${shmid}</code>`);
      expect(html).toContain(`0x${att.address.toString(16)}`);
      expect(html).toContain("<code>8192</code>");
      expect(String(shown.data["text/plain"])).toMatch(new RegExp(`shmid\\s+${shmid}[^]*state\\s+attached`));
      att.detach();
      expect(String(displayDataOf(att, {}, false).data["text/plain"])).toMatch(/state\s+detached/);
      // The method is not an own enumerable property: util.inspect output is unchanged.
      expect(Object.keys(att)).not.toContain(String(JUPYTER_DISPLAY));
    }));

  test("a shmid_ds shows its fields with the C names", () =>
    withSegment((shmid) => {
      const ds = shmctl(shmid, IPC_STAT);
      const shown = displayDataOf(ds, {}, false);
      const html = String(shown.data["text/html"]);
      expect(html).toMatch(/shm_segsz<\/th><td[^>]*><code>8192<\/code>/);
      expect(html).toMatch(/shm_perm.mode<\/th><td[^>]*><code>0600<\/code>/);
      expect(html).toMatch(new RegExp(`shm_cpid</th><td[^>]*><code>${process.pid}</code>`));
      expect(String(shown.data["text/plain"])).toMatch(/shm_nattch\s+0/);
    }));

  test("ipcs() is a table with one row per segment, ours included", () =>
    withSegment((shmid) => {
      const list = ipcs();
      const shown = displayDataOf(list, {}, false);
      const html = String(shown.data["text/html"]);
      expect((html.match(/<tr>/g) ?? []).length).toBe(list.length + 1);
      expect(html).toContain(`<code>${shmid}</code>`);
      const lines = String(shown.data["text/plain"]).split("\n");
      expect(lines).toHaveLength(list.length + 2);
      // Our row, column by column: key, shmid, owner, perms, bytes, nattch, (no status), cpid, lpid.
      const owner = ownerName();
      const row = lines
        .find((l) => l.split(/\s+/)[1] === String(shmid))!
        .trim()
        .split(/\s+/);
      expect(row).toEqual(["0x00000000", String(shmid), owner, "0600", "8192", "0", String(process.pid), "0"]);
    }));

  test("ipcs().filter(...) is still the table; ipcs().map(...) is the array it made", () =>
    withSegment((shmid) => {
      // Both are IpcsLists (an Array's species); the table of a map's numbers threw
      // "Cannot read properties of undefined (reading 'toString')" in the cell.
      const mine = ipcs().filter((e) => e.shmid === shmid);
      expect(String(displayDataOf(mine, {}, false).data["text/plain"])).toContain(String(shmid));
      const ids = ipcs().map((e) => e.shmid);
      expect(displayDataOf(ids, {}, false).data).toEqual({ "text/plain": inspect(Array.from(ids)) });
    }));

  test("a Mapping shows the file it maps, escaped", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tslab-ipc-display-"));
    const file = path.join(dir, "a<b>.bin");
    fs.writeFileSync(file, Buffer.alloc(4096, 1));
    const fd = fs.openSync(file, "r");
    try {
      const m = mmap(null, 4096, PROT_READ, MAP_PRIVATE, fd, 0);
      try {
        const html = String(displayDataOf(m, {}, false).data["text/html"]);
        expect(html).toContain("a&lt;b&gt;.bin");
        expect(html).not.toContain("a<b>.bin");
        expect(String(displayDataOf(m, {}, false).data["text/plain"])).toContain(file);
      } finally {
        m.unmap();
      }
    } finally {
      fs.closeSync(fd);
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("displayDataOf", () => {
  test("plain values are text/plain from util.inspect", () => {
    expect(displayDataOf({ a: 1 }, {}, false)).toEqual({ data: { "text/plain": "{ a: 1 }" }, metadata: {} });
    expect(displayDataOf("s", {}, false).data).toEqual({ "text/plain": "'s'" });
  });

  test("a bare bundle is a value, not a bundle, for execute_result", () => {
    expect(displayDataOf({ "text/html": "<b>x</b>" }, {}, false).data).toEqual({
      "text/plain": "{ 'text/html': '<b>x</b>' }",
    });
  });

  test("an object's own { data, metadata } and text/plain fallback", () => {
    const thing = {
      [JUPYTER_DISPLAY]: () => ({ data: { "text/html": "<i>t</i>" }, metadata: { "text/html": { isolated: true } } }),
    };
    const shown = displayDataOf(thing, {}, false);
    expect(shown.data["text/html"]).toBe("<i>t</i>");
    expect(String(shown.data["text/plain"])).toContain("Symbol(Jupyter.display)");
    expect(shown.metadata).toEqual({ "text/html": { isolated: true } });
  });
});

describe("display()", () => {
  afterEach(() => setDisplayPublisher(undefined));

  test("sends one output with every MIME type: bytes as base64, JSON as objects, metadata kept", () => {
    const sent: Array<[DisplayData, boolean]> = [];
    setDisplayPublisher((out, update) => sent.push([out, update]));
    display(
      {
        "text/html": "<b>b</b>",
        "text/plain": "b",
        "application/vnd.plotly.v1+json": { data: [] },
        "image/png": new Uint8Array([1, 2, 3]),
      },
      { metadata: { "image/png": { width: 5 } } },
    );
    expect(sent).toHaveLength(1);
    expect(sent[0][0]).toEqual({
      data: {
        "text/html": "<b>b</b>",
        "text/plain": "b",
        "application/vnd.plotly.v1+json": { data: [] },
        "image/png": "AQID",
      },
      metadata: { "image/png": { width: 5 } },
    });
    expect(sent[0][1]).toBe(false);
  });

  test("shows objects by their symbol, and updates a display by id", () =>
    withSegment((shmid) => {
      const sent: Array<[DisplayData & { transient?: { display_id?: string } }, boolean]> = [];
      setDisplayPublisher((out, update) => sent.push([out, update]));
      display(shmctl(shmid, IPC_STAT), { displayId: "stat" });
      display("later", { displayId: "stat", update: true });
      expect(String(sent[0][0].data["text/html"])).toContain("shm_segsz");
      expect(sent[0][0].transient).toEqual({ display_id: "stat" });
      expect(sent[1][1]).toBe(true);
      expect(sent[1][0].data).toEqual({ "text/plain": "'later'" });
    }));

  test("outside a kernel prints the text", () => {
    const write = jest.spyOn(process.stdout, "write").mockImplementation(() => true);
    try {
      display({ "text/plain": "hello", "text/html": "<p>hello</p>" });
      expect(write).toHaveBeenCalledWith("hello\n");
    } finally {
      write.mockRestore();
    }
  });

  test("bad options are a TypeError", () => {
    expect(() => display(1, null as never)).toThrow(TypeError);
  });

  test("one type's content is text or bytes, under a MIME type; anything else is refused and sends nothing", () => {
    const sent: DisplayData[] = [];
    setDisplayPublisher((out) => sent.push(out));
    expect(() => display.html(123 as never)).toThrow(
      expect.objectContaining({ code: "ERR_INVALID_ARG_TYPE", message: expect.stringContaining('"content" argument') }),
    );
    expect(() => display.png({ bytes: [1] } as never)).toThrow(TypeError);
    expect(() => display.raw("", "x")).toThrow(
      expect.objectContaining({
        code: "ERR_INVALID_ARG_VALUE",
        message: expect.stringContaining("is not a MIME type"),
      }),
    );
    expect(() => display.raw(5 as never, "x")).toThrow(TypeError);
    expect(sent).toEqual([]);
    display.raw("text/csv", "a,b");
    display.png(new Uint8Array([1, 2, 3]));
    expect(sent.map((out) => out.data)).toEqual([
      { "text/csv": "a,b", "text/plain": expect.any(String) },
      { "image/png": "AQID", "text/plain": expect.any(String) },
    ]);
  });
});
