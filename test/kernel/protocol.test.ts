// The kernel's protocol pieces, in process: the wire message (constant-time signature check),
// the bounded outgoing queue, and the input history file (bounded, corruption-tolerant).
import crypto from "crypto";
import fs from "fs";
import os from "os";
import path from "path";

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { WireMessage, sign } = require("../../kernel/wire");
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { queuedSender, MAX_QUEUED_MESSAGES } = require("../../kernel/handler");
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { History } = require("../../kernel/history");

const KEY = "a-secret-key";
const DELIM = Buffer.from("<IDS|MSG>");

function frames(key: string, signature?: string): Buffer[] {
  const parts = [
    { msg_id: "1", msg_type: "kernel_info_request", session: "s", username: "u", date: "", version: "5.3" },
    {},
    {},
    {},
  ].map((p) => JSON.stringify(p));
  const hmac = signature ?? sign(key, parts);
  return [Buffer.from("identity"), DELIM, Buffer.from(hmac), ...parts.map((p) => Buffer.from(p))];
}

describe("WireMessage", () => {
  test("accepts a correctly signed message and keeps its routing identity", () => {
    const msg = WireMessage.fromRaw(KEY, frames(KEY));
    expect(msg.header.msg_type).toBe("kernel_info_request");
    expect(msg.identity.map((b: Buffer) => b.toString())).toEqual(["identity"]);
  });

  test("refuses a wrong signature of the same length, a shorter one, and a missing delimiter", () => {
    const good = sign(KEY, ["x"]);
    const wrong = good.replace(/^./, (c: string) => (c === "0" ? "1" : "0"));
    expect(() => WireMessage.fromRaw(KEY, frames(KEY, wrong))).toThrow("invalid message signature");
    expect(() => WireMessage.fromRaw(KEY, frames(KEY, "abc"))).toThrow("invalid message signature");
    expect(() =>
      WireMessage.fromRaw(
        KEY,
        frames(KEY).filter((f) => !f.equals(DELIM)),
      ),
    ).toThrow(/no delimiter/);
  });

  test("compares signatures with crypto.timingSafeEqual", () => {
    const spy = jest.spyOn(crypto, "timingSafeEqual");
    try {
      WireMessage.fromRaw(KEY, frames(KEY));
      expect(spy).toHaveBeenCalledTimes(1);
    } finally {
      spy.mockRestore();
    }
  });

  test("a reply is signed so that the receiving side verifies it", () => {
    const sent: Buffer[][] = [];
    const reply = WireMessage.fromRaw(KEY, frames(KEY)).createReply();
    reply.header.msg_type = "kernel_info_reply";
    reply.signAndSend(KEY, { send: (f: Array<string | Buffer>) => sent.push(f.map((p) => Buffer.from(p))) });
    const back = WireMessage.fromRaw(KEY, sent[0]);
    expect(back.header.msg_type).toBe("kernel_info_reply");
    expect(back.parent.msg_id).toBe("1");
  });
});

describe("the outgoing queue when no client reads", () => {
  test("is capped: messages beyond the cap are dropped, counted and reported once", () => {
    const never = { send: () => new Promise(() => {}), close() {} };
    const log: string[] = [];
    const q = queuedSender(never, "iopub", (line: string) => log.push(line));
    for (let i = 0; i < MAX_QUEUED_MESSAGES + 25; i++) q.send(["x"]);
    expect(q.stats).toEqual({ queued: MAX_QUEUED_MESSAGES, bytes: MAX_QUEUED_MESSAGES, dropped: 25 });
    expect(log).toEqual([
      `tslab-ipc: the iopub queue is full (${MAX_QUEUED_MESSAGES} messages, ${MAX_QUEUED_MESSAGES} bytes): no client is reading; dropping messages\n`,
    ]);
  });

  test("drains and says how many were dropped", async () => {
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => (release = r));
    const slow = { send: () => gate, close() {} };
    const log: string[] = [];
    const q = queuedSender(slow, "iopub", (line: string) => log.push(line));
    for (let i = 0; i < MAX_QUEUED_MESSAGES + 3; i++) q.send(["y"]);
    release();
    await q.drained();
    expect(q.stats).toEqual({ queued: 0, bytes: 0, dropped: 0 });
    expect(log[log.length - 1]).toBe("tslab-ipc: the iopub queue drained; 3 message(s) were dropped\n");
  });
});

describe("the input history file", () => {
  let dir = "";
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "tslab-ipc-history-"));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  test("a new session numbers itself after the sessions in the file, and sees them", () => {
    const file = path.join(dir, "h", "history.jsonl");
    const first = new History(file);
    expect(first.session).toBe(1);
    first.add(1, "6 * 7", "42");
    first.add(2, "const a = 1;", null);
    const second = new History(file);
    expect(second.session).toBe(2);
    expect(second.query({ hist_access_type: "tail", n: 10, output: true })).toEqual([
      [1, 1, ["6 * 7", "42"]],
      [1, 2, ["const a = 1;", null]],
    ]);
    expect(second.query({ hist_access_type: "range", session: -1, start: 2, stop: 3 })).toEqual([
      [1, 2, "const a = 1;"],
    ]);
    expect((fs.statSync(file).mode & 0o777).toString(8)).toBe("600");
    expect((fs.statSync(path.dirname(file)).mode & 0o777).toString(8)).toBe("700");
  });

  test("search takes IPython's glob, unique keeps the newest of each input, n the last ones", () => {
    const h = new History(path.join(dir, "history.jsonl"));
    for (const [i, code] of ["6 * 7", "1 + 1", "6 * 7", "6 * 8"].entries()) h.add(i + 1, code, null);
    expect(h.query({ hist_access_type: "search", pattern: "6 ?*" }).map((e: unknown[]) => e[2])).toEqual([
      "6 * 7",
      "6 * 7",
      "6 * 8",
    ]);
    expect(h.query({ hist_access_type: "search", pattern: "6 ?*", unique: true }).map((e: unknown[]) => e[1])).toEqual([
      3, 4,
    ]);
    expect(h.query({ hist_access_type: "search", pattern: "*", n: 2 }).map((e: unknown[]) => e[1])).toEqual([3, 4]);
  });

  test("a corrupt file (torn lines, binary, foreign objects) never stops a session", () => {
    const file = path.join(dir, "history.jsonl");
    fs.writeFileSync(
      file,
      [
        '{"s":3,"n":1,"i":"kept","o":null}',
        '{"s":3,"n":2,"i":"torn',
        "\u0000\u0001\u00ff garbage",
        '{"s":"x","n":1,"i":5}',
        "[1,2,3]",
        "null",
      ].join("\n"),
    );
    const h = new History(file);
    expect(h.session).toBe(4);
    expect(h.query({ hist_access_type: "tail", n: 10 })).toEqual([[3, 1, "kept"]]);
    h.add(1, "next", null);
    expect(new History(file).query({ hist_access_type: "tail", n: 1 })).toEqual([[4, 1, "next"]]);
  });

  test("a history path that is a folder is ignored, and a symbolic link is never followed", () => {
    const asDir = path.join(dir, "is-a-dir");
    fs.mkdirSync(asDir);
    const h = new History(asDir);
    expect(h.session).toBe(1);
    expect(() => h.add(1, "x", null)).not.toThrow();
    const target = path.join(dir, "elsewhere");
    fs.writeFileSync(target, "");
    const link = path.join(dir, "link.jsonl");
    fs.symlinkSync(target, link);
    new History(link).add(1, "not through the link", null);
    expect(fs.readFileSync(target, "utf8")).toBe("");
  });

  test("is bounded: past maxBytes the file is rewritten with the newest half of the entries", () => {
    const file = path.join(dir, "history.jsonl");
    const h = new History(file, { maxBytes: 20_000, keepEntries: 100 });
    for (let i = 1; i <= 1000; i++) h.add(i, `cell number ${i} ${"x".repeat(100)}`, null);
    expect(fs.statSync(file).size).toBeLessThanOrEqual(20_000);
    const again = new History(file, { maxBytes: 20_000, keepEntries: 100 });
    const tail = again.query({ hist_access_type: "tail" });
    expect(tail.length).toBeLessThanOrEqual(100);
    expect(tail[tail.length - 1][1]).toBe(1000);
  });
});
