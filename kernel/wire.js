// @ts-check
// The Jupyter wire protocol's message, in place of tslab's (ZmqMessage, not exported): the same
// fields and the same createReply/signAndSend, so tslab's server methods take it as theirs, but
// the signature is checked in constant time (crypto.timingSafeEqual) and a message that fails
// the check, lacks the delimiter or has a malformed part is refused with a reason, never thrown
// out of a receive loop, and a message is dated when it is sent (a cell's reply after the cell).
// https://jupyter-client.readthedocs.io/en/latest/messaging.html#the-wire-protocol

const crypto = require("crypto");

/** The delimiter between the routing prefix (socket identities) and the signed parts. */
const DELIM = Buffer.from("<IDS|MSG>");
/** The protocol version this kernel speaks. */
const PROTOCOL_VERSION = "5.3";

/** @typedef {{ version: string, date: string, session: string, username: string, msg_type: string, msg_id: string }} Header */

/**
 * The HMAC-SHA256 hex digest of the parts, as Jupyter signs them.
 * @param {string} key @param {Array<string | Buffer>} parts
 */
function sign(key, parts) {
  const hash = crypto.createHmac("sha256", key);
  for (const p of parts) hash.update(p);
  return hash.digest("hex");
}

class WireMessage {
  constructor() {
    /** @type {Buffer[]} */
    this.identity = [];
    this.delim = DELIM.toString();
    this.hmac = "";
    /** @type {Header} */
    this.header = /** @type {Header} */ ({});
    /** @type {Header} */
    this.parent = /** @type {Header} */ ({});
    /** @type {Object} */
    this.metadata = {};
    /** @type {any} */
    this.content = {};
    /** @type {Buffer[]} */
    this.extra = [];
  }

  /**
   * Parses and verifies the frames of one message. An empty key means "no signing" (Jupyter's
   * convention); then any signature is accepted.
   * @param {string} key @param {Buffer[]} frames
   * @returns {WireMessage}
   */
  static fromRaw(key, frames) {
    const msg = new WireMessage();
    const at = frames.findIndex((f) => f.equals(DELIM));
    if (at < 0 || frames.length < at + 6) throw new Error("malformed message: no delimiter or missing parts");
    msg.identity = frames.slice(0, at);
    msg.hmac = frames[at + 1].toString();
    const parts = frames.slice(at + 2);
    if (key) {
      const want = Buffer.from(sign(key, parts.slice(0, 4)));
      const got = Buffer.from(msg.hmac);
      // Equal lengths first: timingSafeEqual throws otherwise, and the length is not secret.
      if (got.length !== want.length || !crypto.timingSafeEqual(got, want))
        throw new Error("invalid message signature");
    }
    msg.header = JSON.parse(parts[0].toString());
    msg.parent = JSON.parse(parts[1].toString());
    msg.metadata = JSON.parse(parts[2].toString());
    msg.content = JSON.parse(parts[3].toString());
    msg.extra = parts.slice(4);
    return msg;
  }

  /** A message answering this one: same routing identities and session, this header as parent. */
  createReply() {
    const rep = new WireMessage();
    rep.identity = this.identity;
    rep.header = {
      version: PROTOCOL_VERSION,
      // Dated when sent (signAndSend), not here: tslab makes a cell's execute_reply before it runs.
      date: "",
      session: this.header.session,
      username: this.header.username,
      msg_type: this.header.msg_type,
      // randomUUID draws from a cache of random bytes refilled once per 128 ids; randomBytes
      // asks OpenSSL each time: ~26 us a message in a kernel's CPU profile (5 messages a cell).
      msg_id: crypto.randomUUID(),
    };
    rep.parent = this.header;
    return rep;
  }

  /**
   * Dates the message, signs it and hands it to the socket. The date is the moment of sending:
   * clients time a cell from its execute_input's date to its execute_reply's (nbclient's
   * record_timing, the execution time JupyterLab shows), and tslab makes the execute_reply
   * before the cell runs, which dated every cell 0 ms.
   * @param {string} key @param {{ send(frames: Array<string | Buffer>): unknown }} sock
   * @returns {unknown} what the socket's send returns (the kernel's queued sockets: a promise
   *   settled once the message has been handed to zeromq)
   */
  signAndSend(key, sock) {
    this.header.date = new Date().toISOString();
    const bodies = [this.header, this.parent, this.metadata, this.content].map((p) => JSON.stringify(p));
    for (const e of this.extra) bodies.push(JSON.stringify(e));
    return sock.send([...this.identity, DELIM, key ? sign(key, bodies) : "", ...bodies]);
  }
}

module.exports = { WireMessage, PROTOCOL_VERSION, sign };
