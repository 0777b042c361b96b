// The kernel's protocol pieces, in process: the wire message (constant-time signature check),
// and the bounded outgoing queue (the input history: history.test.ts).
import crypto from "crypto";

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { WireMessage, sign } = require("../../kernel/wire");
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { queuedSender, MAX_QUEUED_MESSAGES } = require("../../kernel/handler");

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

  test("each reply has an id of its own (clients route outputs by it)", () => {
    const request = WireMessage.fromRaw(KEY, frames(KEY));
    const ids = new Set(Array.from({ length: 1000 }, () => request.createReply().header.msg_id));
    expect(ids.size).toBe(1000);
    for (const id of ids) expect(id).toMatch(/^[0-9a-f-]{32,}$/);
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
