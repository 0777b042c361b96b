// @ts-check
// Every use of a member tslab 1.0.22 declares private, in this one file. tslab is pinned to that
// exact version in package.json: when it changes, `npm run typecheck:kernel` reports each line
// below whose @ts-expect-error no longer matches, and this file is where to look.

const { ZmqServer } = require("tslab/dist/jupyter");

/**
 * tslab's ZmqServer with its private `bindSocket` opened to subclasses. tslab calls it once per
 * socket, after creating the socket and starting its receive loop and before binding it: the
 * only moment to set socket options that must precede a client's connection (the iopub send
 * queue's bound) and to put a stand-in in front of the socket's send.
 */
// @ts-expect-error bindSocket is private in tslab; overriding it is the reason for this class.
class ZmqServerHooks extends ZmqServer {
  /**
   * @param {any} sock a zeromq socket tslab just created
   * @param {number} port
   * @returns {Promise<void>}
   */
  async bindSocket(sock, port) {
    // @ts-expect-error tslab's own bind (private): the address comes from the connection file.
    return super.bindSocket(sock, port);
  }
}

module.exports = { ZmqServerHooks };
